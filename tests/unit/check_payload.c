/* Unit tests for proto/vlink_payload.h: the test payload and the receive
 * tally that the data-path tests rely on to catch loss and corruption. */
#include <check.h>
#include <stdlib.h>

#include "vlink_payload.h"

static struct vlink_payload_rx rx;
static uint8_t buf[VLINK_PAYLOAD_MAX];

/* Feed packet `seq` of `size` bytes to rx in pieces of `piece` bytes. */
static void feed(uint64_t seq, uint32_t size, uint32_t piece)
{
	vlink_payload_fill(buf, size, seq);
	for (uint32_t off = 0; off < size; off += piece) {
		uint32_t len = size - off < piece ? size - off : piece;

		vlink_payload_rx_add(&rx, buf + off, len, off + len < size);
	}
}

static void reset(void)
{
	memset(&rx, 0, sizeof(rx));
}

START_TEST(test_intact_in_order)
{
	reset();
	for (uint64_t s = 0; s < 100; s++)
		feed(s, 60 + (uint32_t)s * 89, 2048);
	ck_assert_uint_eq(rx.got, 100);
	ck_assert_uint_eq(rx.ok, 100);
	ck_assert_uint_eq(rx.corrupt + rx.lost + rx.reordered, 0);
	ck_assert_uint_eq(rx.expect, 100);
}
END_TEST

START_TEST(test_every_byte_matters)
{
	/* flip each byte of a chained 9000-byte packet in turn */
	for (uint32_t i = 0; i < 9000; i += 7) {
		reset();
		vlink_payload_fill(buf, 9000, 5);
		buf[i] ^= 0x01;
		for (uint32_t off = 0; off < 9000; off += 2048) {
			uint32_t len = 9000 - off < 2048 ? 9000 - off : 2048;

			vlink_payload_rx_add(&rx, buf + off, len, off + len < 9000);
		}
		if (rx.corrupt != 1 || rx.ok != 0)
			ck_abort_msg("byte %u flipped: ok %llu corrupt %llu", i,
				     (unsigned long long)rx.ok, (unsigned long long)rx.corrupt);
	}
}
END_TEST

START_TEST(test_loss_and_order)
{
	reset();
	feed(0, 64, 2048);
	feed(3, 64, 2048);          /* 1 and 2 lost */
	feed(2, 64, 2048);          /* late */
	feed(4, 64, 2048);
	ck_assert_uint_eq(rx.ok, 4);
	ck_assert_uint_eq(rx.lost, 2);
	ck_assert_uint_eq(rx.reordered, 1);
	ck_assert_uint_eq(rx.expect, 5);
}
END_TEST

START_TEST(test_bad_buffers)
{
	reset();
	/* an unreadable piece spoils its packet only */
	vlink_payload_fill(buf, 3000, 0);
	vlink_payload_rx_add(&rx, buf, 2048, true);
	vlink_payload_rx_add(&rx, NULL, 952, false);
	feed(1, 3000, 2048);
	ck_assert_uint_eq(rx.corrupt, 1);
	ck_assert_uint_eq(rx.ok, 1);
	/* truncated, padded, and longer than any packet */
	vlink_payload_fill(buf, 100, 2);
	vlink_payload_rx_add(&rx, buf, 99, false);
	vlink_payload_rx_add(&rx, buf, 101, false);
	for (int i = 0; i < 40; i++)
		vlink_payload_rx_add(&rx, buf, 2048, i < 39);
	ck_assert_uint_eq(rx.corrupt, 4);
	/* and the tally goes on */
	feed(2, 64, 2048);
	ck_assert_uint_eq(rx.ok, 2);
	ck_assert_uint_eq(rx.got, 6);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("payload");
	TCase *tc = tcase_create("rx");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_intact_in_order);
	tcase_add_test(tc, test_every_byte_matters);
	tcase_add_test(tc, test_loss_and_order);
	tcase_add_test(tc, test_bad_buffers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
