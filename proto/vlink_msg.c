#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vlink_error.h"
#include "vlink_msg.h"

int vlink_msg_push(struct vlink_writer *w, const Vlink__Envelope *env,
		   const int *fds, unsigned nfds)
{
	size_t len = vlink__envelope__get_packed_size(env);
	uint8_t *buf;
	int err;

	if (len > VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE)
		return -EMSGSIZE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	vlink__envelope__pack(env, buf);
	err = vlink_writer_push(w, buf, len, fds, nfds);
	free(buf);
	return err;
}

static size_t varint_size(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t vlink_msg_part_fill(void *const *items, size_t from, size_t n, size_t *left)
{
	for (; from < n; from++) {
		size_t body = protobuf_c_message_get_packed_size(items[from]);
		/* a field number under 16 takes a one-byte tag */
		size_t f = 1 + varint_size(body) + body;

		if (f > *left)
			break;
		*left -= f;
	}
	return from;
}

int vlink_msg_decode(const struct vlink_frame *f, Vlink__Envelope **out)
{
	Vlink__Envelope *e = vlink__envelope__unpack(NULL, f->len, f->data);

	if (!e)
		return -EBADMSG;
	if (e->msg_case == VLINK__ENVELOPE__MSG__NOT_SET) {
		vlink__envelope__free_unpacked(e, NULL);
		return -EBADMSG;
	}
	*out = e;
	return 0;
}

void vlink_msg_free(Vlink__Envelope *env)
{
	if (env)
		vlink__envelope__free_unpacked(env, NULL);
}

const char *vlink_msg_name(Vlink__Envelope__MsgCase c)
{
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field(&vlink__envelope__descriptor,
							(unsigned)c);

	return fd ? fd->name : "unknown";
}

int vlink_msg_check_map(uint64_t pool_size, size_t nseg,
			Vlink__Segment *const *segs, const Vlink__ChannelRegion *reg,
			unsigned nfds, char *why, size_t n)
{
	uint32_t used = 0; /* bit i: fd i referenced */
	uint64_t total = 0;

	if (nfds > 32)
		return vlink_why(why, n, -EINVAL, "too many fds");
	if (!reg)
		return vlink_why(why, n, -EINVAL, "no channel region");
	if (reg->fd_index >= nfds)
		return vlink_why(why, n, -EINVAL, "channel region fd index %u out of range",
			   reg->fd_index);
	used |= 1u << reg->fd_index;
	if (reg->size == 0 || reg->size % 4096)
		return vlink_why(why, n, -EINVAL, "channel region size %llu is not a multiple of 4 KiB",
			   (unsigned long long)reg->size);
	if (nseg == 0)
		return vlink_why(why, n, -EINVAL, "no pool segments");
	for (size_t i = 0; i < nseg; i++) {
		const Vlink__Segment *s = segs[i];

		if (s->fd_index >= nfds || (used & (1u << s->fd_index)))
			return vlink_why(why, n, -EINVAL, "segment %zu: fd index %u invalid or reused",
				   i, s->fd_index);
		used |= 1u << s->fd_index;
		if (s->page_size < 4096 || (s->page_size & (s->page_size - 1)))
			return vlink_why(why, n, -EINVAL, "segment %zu: page size %llu invalid", i,
				   (unsigned long long)s->page_size);
		if (s->size == 0 || s->size % s->page_size ||
		    s->pool_offset % s->page_size)
			return vlink_why(why, n, -EINVAL, "segment %zu: not page aligned", i);
		if (s->pool_offset > pool_size || s->size > pool_size - s->pool_offset)
			return vlink_why(why, n, -EINVAL, "segment %zu: outside the %llu-byte pool", i,
				   (unsigned long long)pool_size);
		for (size_t j = 0; j < i; j++) {
			const Vlink__Segment *t = segs[j];

			if (s->pool_offset < t->pool_offset + t->size &&
			    t->pool_offset < s->pool_offset + s->size)
				return vlink_why(why, n, -EINVAL, "segments %zu and %zu overlap", j, i);
		}
		total += s->size;
	}
	if (total > pool_size)
		return vlink_why(why, n, -EINVAL, "segments larger than the pool");
	if (used != (nfds == 32 ? UINT32_MAX : (1u << nfds) - 1))
		return vlink_why(why, n, -EINVAL, "the frame carries fds the map does not use");
	return 0;
}

int vlink_msg_check_notifiers(const Vlink__Notifiers *m, unsigned nfds, const char *link,
			      unsigned nch, uint64_t *seen, char *why, size_t len)
{
	uint32_t used = 0;

	if (nfds > 32 || nch > 64)
		return vlink_why(why, len, -EPROTO, "Notifiers: %u fds for %u channels", nfds, nch);
	for (size_t i = 0; i < m->n_channels; i++) {
		const Vlink__ChannelNotifier *c = m->channels[i];

		if (strcmp(c->link, link))
			return vlink_why(why, len, -EPROTO, "Notifiers: link '%.40s', not '%s'",
					 c->link, link);
		if (c->channel < 1 || c->channel > nch)
			return vlink_why(why, len, -EPROTO, "Notifiers: channel %u of link '%s', "
					 "which has %u", c->channel, link, nch);
		if (*seen & (1ull << (c->channel - 1)))
			return vlink_why(why, len, -EPROTO, "Notifiers: channel %u twice",
					 c->channel);
		if (c->wake_host >= nfds || c->wake_peer >= nfds || c->wake_host == c->wake_peer ||
		    (used & (1u << c->wake_host)) || (used & (1u << c->wake_peer)))
			return vlink_why(why, len, -EPROTO, "Notifiers: channel %u: fd indexes "
					 "%u and %u of %u, or used twice", c->channel,
					 c->wake_host, c->wake_peer, nfds);
		used |= 1u << c->wake_host | 1u << c->wake_peer;
		*seen |= 1ull << (c->channel - 1);
	}
	return 0;
}
