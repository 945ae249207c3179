/*
 * pci-vlink: a vlink domain's packet memory as PCI BARs.
 *
 *   -chardev socket,id=vl0,path=/run/vlink/vlinkd.sock,reconnect=1
 *   -device pci-vlink,chardev=vl0,vm_domain=NAME[,bar-size=1G][,region-size=16M]
 *           [,vectors=65]
 *
 * The device is a client of vlinkd (the vlink daemon).  On every connection
 * it sends Hello and AttachDomain; the daemon answers with a DomainMap whose
 * frame carries the domain's pool segment files and its channel region
 * file as SCM_RIGHTS fds, and pushes a fresh DomainMap whenever the
 * domain's link table changes.  The device maps
 *
 *   BAR0  4 KiB of registers (below),
 *   BAR1  the MSI-X table and PBA (`vectors` vectors),
 *   BAR2  the pool: a container of bar-size whose subregions are the
 *         segments, each at its pool offset (pool offset == BAR2 offset),
 *   BAR4  the channel region (link table, link headers, rings) at offset 0
 *         of a container of region-size.
 *
 * The mappings stay when the daemon goes away: the data path never needs
 * it.  On a reconnect the device keeps every segment that is the same file
 * (st_dev, st_ino, size) at the same offset and maps only what changed, in
 * one memory transaction, then bumps GENERATION.  Anything wrong in what
 * the daemon sends is refused with a message on QEMU's error log, STATUS
 * ERROR set and the old mapping kept; a stream that is not vlink framing is
 * dropped (the chardev reconnects).
 *
 * Event mode: after each accepted DomainMap the device asks for the
 * domain's notifiers (GetNotifiers), two eventfds per data channel.  A
 * guest write of VLINK_DOORBELL(slot, channel) to DOORBELL signals the
 * channel's wake_host (an ioeventfd: QEMU's memory core or KVM writes it,
 * the device is not involved); a signal on wake_peer (from the host end)
 * becomes the channel's MSI-X vector, or ISR bit 1 and INTx when the guest
 * has not enabled MSI-X.  Vector 0 says GENERATION or STATUS changed.
 *
 * Protocol: proto/vlink.proto, proto/vlink_frame.h and docs/pci-vlink.md
 * in the vlink repository, whose protocol code is copied next to this file
 * (hw/misc/vlink/) by vlink's qemu/build-qemu.sh.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 */
#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/cutils.h"
#include "qemu/host-utils.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/mmap-alloc.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/log.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "chardev/char-fe.h"
#include "chardev/char-socket.h"
#include "exec/memory.h"
#include "qom/object.h"

#include "vlink/vlink_msg.h"
#include "vlink/vlink_frame.h"
#include "vlink/vlink_valid.h"
#include "vlink/vlink_error.h"
#include "vlink/vlink_shm.h"
#include "vlink/vlink_pci.h"

#define TYPE_PCI_VLINK      "pci-vlink"
#define TYPE_PCI_VLINK_MEM  "pci-vlink-mem"

/* identity, BARs, BAR0 registers: vlink/vlink_pci.h, shared with the
 * guest side (libvlinkguest, the guest drivers) */
#define VL_BAR_MIN          (2 * MiB)
#define VL_BAR_MAX          (1 * GiB)
#define VL_REGION_MIN       ((uint64_t)VLINK_REGION_HDR_SIZE)

#define VL_ID_HELLO         1           /* request ids we send */
#define VL_ID_ATTACH        2
#define VL_ID_NOTIFIERS     16          /* GetNotifiers: a new id from here up
                                         * for each, so that the reply to one
                                         * the device gave up is told apart */

#define VL_VECTORS_MIN      2           /* the config vector and one for data */
#define VL_VECTORS_MAX      2048        /* what MSI-X can have */
/* Channels whose doorbell is an ioeventfd; the write handler signals the
 * others (a userspace exit under KVM).  KVM has room for 1000 ioeventfds
 * on a VM's MMIO bus, shared with every other device, and QEMU aborts when
 * adding one fails: each pci-vlink takes at most this many. */
#define VL_IOEVENTFD_MAX    128

/* One file the device maps (a pool segment or the channel region).  It is
 * a QOM object of its own because it owns the RAM MemoryRegion: flat views
 * that still show the region after it left a BAR hold references to its
 * owner, so the region is freed only once the last of them is gone. */
typedef struct VlinkMem {
    Object parent_obj;
    MemoryRegion mr;
    uint64_t offset;                    /* in the BAR */
    uint64_t size;
    dev_t st_dev;
    ino_t st_ino;
} VlinkMem;

OBJECT_DECLARE_SIMPLE_TYPE(VlinkMem, PCI_VLINK_MEM)

/* One data channel's notifiers (vlinkd's eventfds, owned here). */
typedef struct VlinkNotifier {
    struct PCIVlinkState *s;
    uint16_t slot;                      /* the link's slot in the link table */
    uint16_t channel;                   /* 1.. */
    unsigned vector;                    /* vlink_pci_vector() */
    bool ioeventfd;                     /* wake_host is on DOORBELL */
    EventNotifier wake_host;            /* the guest's doorbell writes it */
    EventNotifier wake_peer;            /* the host end writes it: interrupt */
} VlinkNotifier;

/* A link of the last accepted DomainMap, as GetNotifiers' reply names it. */
typedef struct VlinkLink {
    char name[VLINK_SHM_NAME_LEN];
    uint16_t slot;
    uint16_t nchannels;
    uint64_t seen;                      /* channels the reply has given so far */
} VlinkLink;

typedef struct PCIVlinkState {
    PCIDevice parent_obj;

    /* properties */
    CharBackend chr;
    char *domain;
    uint64_t bar_size;
    uint64_t region_size;
    uint32_t vectors;

    MemoryRegion regs;                  /* BAR0 */
    MemoryRegion bar2;                  /* container: pool segments */
    MemoryRegion bar4;                  /* container: channel region */

    /* what is mapped */
    VlinkMem *seg[VLINK_FRAME_MAX_FDS];
    unsigned nseg;
    VlinkMem *region;

    /* registers */
    uint32_t status;
    uint32_t generation;
    uint64_t pool_size;
    uint64_t mapped_region_size;
    uint32_t connects;
    char domain_reg[VLINK_REG_DOMAIN_LEN];
    uint32_t isr;                       /* VLINK_ISR_*: INTx is up while set */
    bool intx_armed;                    /* ISR read since reset: INTx may rise */

    /* notifiers: the ones in use, and the reply being received */
    VlinkLink links[VLINK_MAX_LINKS];   /* of the last accepted DomainMap */
    unsigned nlinks;
    VlinkNotifier *notifier;            /* in use (until replaced) */
    unsigned nnotifier;
    VlinkNotifier *pend;                /* the reply so far */
    unsigned npend;
    uint32_t notify_id;                 /* the GetNotifiers answered, 0: none */
    uint32_t notify_next;               /* the next id to use */
    char *notify_refusal;               /* the daemon's last Error to it */
    uint64_t doorbell_misses;           /* doorbells that woke nothing */

    /* the connection */
    bool hello;                         /* HelloReply received */
    bool dead;                          /* bad stream, waiting for drop_bh */
    QEMUBH *drop_bh;
    char *last_refusal;                 /* the daemon's last Error text */

    /* the frame being read */
    uint8_t hdr[VLINK_FRAME_HDR_SIZE];
    uint32_t hdr_got;
    uint8_t *payload;
    uint32_t len, got;
    int fds[VLINK_FRAME_MAX_FDS];
    unsigned nfds;
} PCIVlinkState;

OBJECT_DECLARE_SIMPLE_TYPE(PCIVlinkState, PCI_VLINK)

static void close_fds(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

static const char *domain_of(PCIVlinkState *s)
{
    return s->domain ? s->domain : "";
}

static void G_GNUC_PRINTF(2, 3) vl_info(PCIVlinkState *s, const char *fmt, ...);

/* ---------------------------------------------------------- interrupts */

/* Interrupt the guest on MSI-X `vector`, or, while the guest has not
 * enabled MSI-X, set `cause` in ISR and raise INTx (lowered when the guest
 * reads ISR).  A masked vector is left pending by msix_notify().
 *
 * INTx is raised only once the guest has read ISR since the last reset:
 * the device has causes from its first connection on, and a line held up
 * for a guest without a driver for it would storm a driver that shares
 * the line until the guest kernel disables the line for both. */
static void vl_interrupt(PCIVlinkState *s, unsigned vector, uint32_t cause)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    if (msix_enabled(pdev)) {
        msix_notify(pdev, vector);
        return;
    }
    s->isr |= cause;
    if (s->intx_armed) {
        pci_set_irq(pdev, 1);
    }
}

/* GENERATION or STATUS changed: the config vector. */
static void vl_config_changed(PCIVlinkState *s)
{
    vl_interrupt(s, 0, VLINK_ISR_CONFIG);
}

/* STATUS |= set, &= ~clear; the config vector if that changed it */
static void vl_status(PCIVlinkState *s, uint32_t set, uint32_t clear)
{
    uint32_t st = (s->status | set) & ~clear;

    if (st != s->status) {
        s->status = st;
        vl_config_changed(s);
    }
}

/* ---------------------------------------------------------------- BAR0 */

static uint64_t vl_regs_read(void *opaque, hwaddr addr, unsigned size)
{
    PCIVlinkState *s = opaque;
    uint32_t v;

    switch (addr) {
    case VLINK_REG_MAGIC:
        return VLINK_DEV_MAGIC;
    case VLINK_REG_VERSION:
        return VLINK_DEV_VERSION;
    case VLINK_REG_STATUS:
        return s->status;
    case VLINK_REG_GENERATION:
        return s->generation;
    case VLINK_REG_POOL_LO:
        return (uint32_t)s->pool_size;
    case VLINK_REG_POOL_HI:
        return (uint32_t)(s->pool_size >> 32);
    case VLINK_REG_REGION_LO:
        return (uint32_t)s->mapped_region_size;
    case VLINK_REG_REGION_HI:
        return (uint32_t)(s->mapped_region_size >> 32);
    case VLINK_REG_NSEGMENTS:
        return s->nseg;
    case VLINK_REG_CONNECTS:
        return s->connects;
    case VLINK_REG_VECTORS:
        return s->vectors;
    case VLINK_REG_ISR:
        /* read to clear: the guest has seen the causes */
        v = s->isr;
        s->isr = 0;
        s->intx_armed = true;           /* a driver is there */
        pci_set_irq(PCI_DEVICE(s), 0);
        return v;
    default:
        if (addr >= VLINK_REG_DOMAIN && addr + 4 <= VLINK_REG_DOMAIN + VLINK_REG_DOMAIN_LEN) {
            memcpy(&v, s->domain_reg + (addr - VLINK_REG_DOMAIN), 4);
            return le32_to_cpu(v);
        }
        return 0;
    }
}

static void vl_regs_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PCIVlinkState *s = opaque;

    /* Every register but DOORBELL is read-only.  A doorbell that matched an
     * ioeventfd never gets here (QEMU's memory core or KVM signalled it);
     * this is one of a channel past VL_IOEVENTFD_MAX, or not a 32-bit
     * write, or one for a channel without notifiers. */
    if (addr != VLINK_REG_DOORBELL) {
        return;
    }
    for (unsigned i = 0; i < s->nnotifier; i++) {
        VlinkNotifier *n = &s->notifier[i];

        if (VLINK_DOORBELL(n->slot, n->channel) == (uint32_t)val) {
            event_notifier_set(&n->wake_host);
            return;
        }
    }
    /* the guest's business (it rang before the notifiers came, or vlinkd
     * has none): said once, counted always */
    if (!s->doorbell_misses++) {
        vl_info(s, "doorbell 0x%08x (slot %u, channel %u) wakes no channel: ignored "
                "(said once)", (uint32_t)val, (uint32_t)val >> 16, (uint32_t)val & 0xffff);
    }
    qemu_log_mask(LOG_GUEST_ERROR, "pci-vlink: doorbell 0x%08x wakes no channel\n",
                  (uint32_t)val);
}

static const MemoryRegionOps vl_regs_ops = {
    .read = vl_regs_read,
    .write = vl_regs_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* ------------------------------------------------------------- logging */

/* error_report() or info_report(), naming the device by its domain */
static void G_GNUC_PRINTF(3, 0) vl_vreport(PCIVlinkState *s, bool error, const char *fmt,
                                           va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);

    (error ? error_report : info_report)("pci-vlink (domain '%s'): %s", domain_of(s), msg);
}

static void G_GNUC_PRINTF(2, 3) vl_error(PCIVlinkState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vl_vreport(s, true, fmt, ap);
    va_end(ap);
}

static void G_GNUC_PRINTF(2, 3) vl_info(PCIVlinkState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vl_vreport(s, false, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------- mapping */

static const TypeInfo vlink_mem_info = {
    .name = TYPE_PCI_VLINK_MEM,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(VlinkMem),
};

/* Map `fd` (which the new region owns on success) as a VlinkMem child of
 * the device; NULL with errp set on failure (fd not consumed). */
static VlinkMem *vl_mem_new(PCIVlinkState *s, const char *name, int fd, uint64_t offset,
                            uint64_t size, const struct stat *st, Error **errp)
{
    VlinkMem *m = PCI_VLINK_MEM(object_new(TYPE_PCI_VLINK_MEM));
    Error *err = NULL;

    memory_region_init_ram_from_fd(&m->mr, OBJECT(m), name, size, RAM_SHARED, fd, 0, &err);
    if (err) {
        error_propagate_prepend(errp, err, "cannot map %s: ", name);
        object_unref(OBJECT(m));
        return NULL;
    }
    m->offset = offset;
    m->size = size;
    m->st_dev = st->st_dev;
    m->st_ino = st->st_ino;
    object_property_add_child(OBJECT(s), "vlink-mem[*]", OBJECT(m));
    object_unref(OBJECT(m));            /* the device's child property holds it */
    return m;
}

static bool vl_mem_same(const VlinkMem *m, uint64_t offset, uint64_t size,
                        const struct stat *st)
{
    return m && m->offset == offset && m->size == size &&
           m->st_dev == st->st_dev && m->st_ino == st->st_ino;
}

/* Check one fd of a DomainMap: a regular file (hugetlbfs, tmpfs, ...)
 * open read-write, at least `size` bytes, whose page size divides `size`
 * and `offset`. */
static bool vl_check_fd(const char *what, int fd, uint64_t offset, uint64_t size,
                        struct stat *st, Error **errp)
{
    int fl;
    size_t page;

    if (fstat(fd, st) < 0) {
        error_setg_errno(errp, errno, "%s: fstat", what);
        return false;
    }
    if (!S_ISREG(st->st_mode)) {
        error_setg(errp, "%s: the fd is not a regular file (mode 0%o)", what,
                   (unsigned)st->st_mode & S_IFMT);
        return false;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) != O_RDWR) {
        error_setg(errp, "%s: the file is not open read-write", what);
        return false;
    }
    if ((uint64_t)st->st_size < size) {
        error_setg(errp, "%s: the file has %" PRIu64 " bytes, the map says %" PRIu64,
                   what, (uint64_t)st->st_size, size);
        return false;
    }
    page = qemu_fd_getpagesize(fd);
    if (size % page || offset % page) {
        error_setg(errp, "%s: offset %" PRIu64 " and size %" PRIu64
                   " are not multiples of the file's page size %zu", what, offset, size, page);
        return false;
    }
    return true;
}

/* Build BAR2/BAR4 from a DomainMap.  fds[] are the frame's fds: the ones
 * the new mapping takes are set to -1, the caller closes the rest.  On
 * failure nothing changed and errp says why. */
static bool vl_apply_map(PCIVlinkState *s, const Vlink__DomainMap *dm, int *fds,
                         unsigned nfds, Error **errp)
{
    const Vlink__ChannelRegion *reg = dm->region;
    struct stat st[VLINK_FRAME_MAX_FDS], rst;
    VlinkMem *next[VLINK_FRAME_MAX_FDS] = { NULL };
    bool created[VLINK_FRAME_MAX_FDS] = { false };
    bool kept[VLINK_FRAME_MAX_FDS] = { false };
    VlinkMem *next_region = NULL;
    bool region_created = false;
    unsigned nkept = 0, i, j;
    char why[256];
    g_autofree char *pool_str = NULL, *reg_str = NULL;

    if (strcmp(dm->domain, domain_of(s)) != 0) {
        error_setg(errp, "the map is for domain '%.40s'", dm->domain);
        return false;
    }
    if (dm->pool_size == 0 || dm->pool_size > s->bar_size) {
        error_setg(errp, "a pool of %" PRIu64 " bytes does not fit BAR2 (bar-size=%" PRIu64 ")",
                   dm->pool_size, s->bar_size);
        return false;
    }
    if (dm->n_segments > VLINK_FRAME_MAX_FDS - 1) {
        error_setg(errp, "%zu segments (at most %d)", dm->n_segments, VLINK_FRAME_MAX_FDS - 1);
        return false;
    }
    if (vlink_msg_check_map(dm->pool_size, dm->n_segments, dm->segments, reg, nfds,
                            why, sizeof(why))) {
        error_setg(errp, "%s", why);
        return false;
    }
    if (reg->size > s->region_size) {
        error_setg(errp, "the channel region of %" PRIu64 " bytes does not fit BAR4 "
                   "(region-size=%" PRIu64 "); restart QEMU with a larger region-size",
                   reg->size, s->region_size);
        return false;
    }
    for (i = 0; i < dm->n_segments; i++) {
        const Vlink__Segment *g = dm->segments[i];
        char what[32];

        snprintf(what, sizeof(what), "segment %u", i);
        if (!vl_check_fd(what, fds[g->fd_index], g->pool_offset, g->size, &st[i], errp)) {
            return false;
        }
    }
    if (!vl_check_fd("channel region", fds[reg->fd_index], 0, reg->size, &rst, errp)) {
        return false;
    }

    /* keep what is the same file at the same place, map the rest */
    for (i = 0; i < dm->n_segments; i++) {
        const Vlink__Segment *g = dm->segments[i];

        for (j = 0; j < s->nseg; j++) {
            if (!kept[j] && vl_mem_same(s->seg[j], g->pool_offset, g->size, &st[i])) {
                kept[j] = true;
                next[i] = s->seg[j];
                nkept++;
                break;
            }
        }
        if (!next[i]) {
            g_autofree char *name = g_strdup_printf("pci-vlink.pool@0x%" PRIx64, g->pool_offset);

            next[i] = vl_mem_new(s, name, fds[g->fd_index], g->pool_offset, g->size, &st[i],
                                 errp);
            if (!next[i]) {
                goto undo;
            }
            created[i] = true;
            fds[g->fd_index] = -1;
        }
    }
    if (vl_mem_same(s->region, 0, reg->size, &rst)) {
        next_region = s->region;
    } else {
        next_region = vl_mem_new(s, "pci-vlink.region", fds[reg->fd_index], 0, reg->size,
                                 &rst, errp);
        if (!next_region) {
            goto undo;
        }
        region_created = true;
        fds[reg->fd_index] = -1;
    }

    /* swap, atomically as far as the guest can tell */
    memory_region_transaction_begin();
    for (j = 0; j < s->nseg; j++) {
        if (!kept[j]) {
            memory_region_del_subregion(&s->bar2, &s->seg[j]->mr);
        }
    }
    for (i = 0; i < dm->n_segments; i++) {
        if (created[i]) {
            memory_region_add_subregion(&s->bar2, next[i]->offset, &next[i]->mr);
        }
    }
    if (region_created) {
        if (s->region) {
            memory_region_del_subregion(&s->bar4, &s->region->mr);
        }
        memory_region_add_subregion(&s->bar4, 0, &next_region->mr);
    }
    memory_region_transaction_commit();

    for (j = 0; j < s->nseg; j++) {
        if (!kept[j]) {
            object_unparent(OBJECT(s->seg[j]));
        }
    }
    if (region_created && s->region) {
        object_unparent(OBJECT(s->region));
    }
    for (i = 0; i < dm->n_segments; i++) {
        s->seg[i] = next[i];
    }
    s->nseg = dm->n_segments;
    s->region = next_region;
    s->pool_size = dm->pool_size;
    s->mapped_region_size = reg->size;
    s->status = (s->status | VLINK_DEV_STATUS_MAPPED) & ~VLINK_DEV_STATUS_ERROR;
    s->generation++;                    /* last: the new mapping is in place */
    vl_config_changed(s);

    pool_str = size_to_str(dm->pool_size);
    reg_str = size_to_str(reg->size);
    vl_info(s, "generation %u: pool %s in %zu segments (%u kept, %zu mapped), "
            "channel region %s (%s), %zu links", s->generation, pool_str, dm->n_segments,
            nkept, dm->n_segments - nkept, reg_str, region_created ? "mapped" : "kept",
            dm->n_links);
    return true;

undo:
    /* nothing is in a BAR yet: drop what was made (the fds it took are
     * closed when its RAM block goes) */
    for (i = 0; i < dm->n_segments; i++) {
        if (created[i]) {
            object_unparent(OBJECT(next[i]));
        }
    }
    return false;
}

/* Remove every mapping (unrealize). */
static void vl_unmap_all(PCIVlinkState *s)
{
    memory_region_transaction_begin();
    for (unsigned j = 0; j < s->nseg; j++) {
        memory_region_del_subregion(&s->bar2, &s->seg[j]->mr);
    }
    if (s->region) {
        memory_region_del_subregion(&s->bar4, &s->region->mr);
    }
    memory_region_transaction_commit();
    for (unsigned j = 0; j < s->nseg; j++) {
        object_unparent(OBJECT(s->seg[j]));
        s->seg[j] = NULL;
    }
    if (s->region) {
        object_unparent(OBJECT(s->region));
        s->region = NULL;
    }
    s->nseg = 0;
}

/* ------------------------------------------------------------ protocol */

static void vl_rx_reset(PCIVlinkState *s)
{
    close_fds(s->fds, s->nfds);
    s->nfds = 0;
    g_free(s->payload);
    s->payload = NULL;
    s->hdr_got = 0;
    s->len = 0;
    s->got = 0;
}

static void vl_drop_bh(void *opaque)
{
    PCIVlinkState *s = opaque;

    if (s->dead) {
        qemu_chr_fe_disconnect(&s->chr);
    }
}

/* The stream cannot be trusted any more: refuse it, forget what was read
 * and drop the connection (from a bottom half, not from inside the
 * chardev's read callback).  The chardev reconnects. */
static void G_GNUC_PRINTF(2, 3) vl_drop(PCIVlinkState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vl_error(s, "bad stream from vlinkd: %s; dropping the connection", msg);
    vl_status(s, VLINK_DEV_STATUS_ERROR, 0);
    vl_rx_reset(s);
    s->dead = true;
    qemu_bh_schedule(s->drop_bh);
}

static bool vl_send(PCIVlinkState *s, Vlink__Envelope *env)
{
    size_t len = vlink__envelope__get_packed_size(env);
    g_autofree uint8_t *buf = g_malloc(VLINK_FRAME_HDR_SIZE + len);

    assert(len <= VLINK_FRAME_MAX - VLINK_FRAME_HDR_SIZE);
    vlink_frame_hdr_encode(buf, 0, (uint32_t)len);
    vlink__envelope__pack(env, buf + VLINK_FRAME_HDR_SIZE);
    return qemu_chr_fe_write_all(&s->chr, buf, VLINK_FRAME_HDR_SIZE + len) ==
           (int)(VLINK_FRAME_HDR_SIZE + len);
}

static void vl_send_hello(PCIVlinkState *s)
{
    Vlink__Envelope env = VLINK__ENVELOPE__INIT;
    Vlink__Hello hello = VLINK__HELLO__INIT;
    Vlink__AttachDomain ad = VLINK__ATTACH_DOMAIN__INIT;

    hello.role = VLINK__ROLE__ROLE_QEMU;
    hello.version = VLINK_PROTOCOL_VERSION;
    hello.client = (char *)"qemu pci-vlink";
    env.id = VL_ID_HELLO;
    env.msg_case = VLINK__ENVELOPE__MSG_HELLO;
    env.hello = &hello;
    if (!vl_send(s, &env)) {
        vl_error(s, "cannot send Hello to vlinkd");
        return;
    }
    ad.domain = s->domain;
    env.id = VL_ID_ATTACH;
    env.msg_case = VLINK__ENVELOPE__MSG_ATTACH_DOMAIN;
    env.attach_domain = &ad;
    if (!vl_send(s, &env)) {
        vl_error(s, "cannot send AttachDomain to vlinkd");
    }
}

/* ----------------------------------------------------------- notifiers */

/* Close a list of notifiers (not attached to anything any more). */
static void vl_notifiers_free(VlinkNotifier *v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        event_notifier_cleanup(&v[i].wake_host);
        event_notifier_cleanup(&v[i].wake_peer);
    }
    g_free(v);
}

/* Take the notifiers in use off DOORBELL and the main loop; their fds stay
 * open (the caller closes them once the memory transaction that removes
 * the ioeventfds is committed: KVM is told with the fds). */
static void vl_notifiers_detach(PCIVlinkState *s)
{
    for (unsigned i = 0; i < s->nnotifier; i++) {
        VlinkNotifier *n = &s->notifier[i];

        if (n->ioeventfd) {
            memory_region_del_eventfd(&s->regs, VLINK_REG_DOORBELL, 4, true,
                                      VLINK_DOORBELL(n->slot, n->channel), &n->wake_host);
            n->ioeventfd = false;
        }
        qemu_set_fd_handler(event_notifier_get_fd(&n->wake_peer), NULL, NULL, NULL);
    }
}

/* Forget the reply being received (its fds are closed); the notifiers in
 * use stay. */
static void vl_notify_abandon(PCIVlinkState *s)
{
    vl_notifiers_free(s->pend, s->npend);
    s->pend = NULL;
    s->npend = 0;
    s->notify_id = 0;
}

/* The host end signalled wake_peer: interrupt the guest.  Drained first,
 * so that a signal that comes after the read makes the fd readable again
 * and is not lost. */
static void vl_wake_peer(void *opaque)
{
    VlinkNotifier *n = opaque;

    if (event_notifier_test_and_clear(&n->wake_peer)) {
        vl_interrupt(n->s, n->vector, VLINK_ISR_DATA);
    }
}

/* The slots of the DomainMap's links in the channel region just mapped:
 * the guest numbers a link by its entry in the link table, and so do
 * DOORBELL and the vectors.  vlinkd writes the table before it sends the
 * map; a change made since then comes with the next map. */
static bool vl_links_from_map(PCIVlinkState *s, const Vlink__DomainMap *dm, Error **errp)
{
    struct vlink_region_hdr *live = memory_region_get_ram_ptr(&s->region->mr);
    g_autofree struct vlink_region_hdr *h = g_new(struct vlink_region_hdr, 1);
    uint32_t g1, g2;
    unsigned tries = 0, i, j;

    s->nlinks = 0;
    if (s->mapped_region_size < sizeof(*h)) {
        error_setg(errp, "the channel region has no room for the link table");
        return false;
    }
    if (dm->n_links > VLINK_MAX_LINKS) {
        error_setg(errp, "the map has %zu links (at most %d)", dm->n_links, VLINK_MAX_LINKS);
        return false;
    }
    /* a copy under the table's sequence lock (odd while vlinkd writes it);
     * vlinkd holds it for microseconds, a region stuck odd is given up */
    for (;;) {
        g1 = qatomic_load_acquire(&live->generation);
        memcpy(h, live, sizeof(*h));
        smp_rmb();
        g2 = qatomic_read(&live->generation);
        if (!(g1 & 1) && g1 == g2) {
            break;
        }
        if (++tries == 200) {
            error_setg(errp, "the link table of the channel region never settled");
            return false;
        }
        g_usleep(50);
    }
    for (i = 0; i < dm->n_links; i++) {
        const Vlink__LinkLayout *ll = dm->links[i];
        const struct vlink_link_entry *e = NULL;

        for (j = 0; j < VLINK_MAX_LINKS; j++) {
            e = &h->links[j];
            if ((e->flags & VLINK_LINK_F_USED) && e->hdr_offset == ll->header_offset &&
                strlen(ll->name) < sizeof(e->name) &&
                strncmp(e->name, ll->name, sizeof(e->name)) == 0) {
                break;
            }
        }
        if (j == VLINK_MAX_LINKS) {
            error_setg(errp, "link '%.40s' of the map is not in the channel region's link "
                       "table", ll->name);
            return false;
        }
        if (ll->nchannels < 1 || ll->nchannels > VLINK_NCHANNELS_MAX ||
            e->nchannels != ll->nchannels) {
            error_setg(errp, "link '%s' has %u data channels in the map, %u in the link table",
                       ll->name, ll->nchannels, e->nchannels);
            return false;
        }
        /* (slot, channel) names a doorbell: one link a slot */
        for (unsigned k = 0; k < s->nlinks; k++) {
            if (s->links[k].slot == j) {
                error_setg(errp, "links '%s' and '%s' of the map are both in slot %u",
                           s->links[k].name, ll->name, j);
                s->nlinks = 0;
                return false;
            }
        }
        pstrcpy(s->links[s->nlinks].name, sizeof(s->links[s->nlinks].name), ll->name);
        s->links[s->nlinks].slot = j;
        s->links[s->nlinks].nchannels = ll->nchannels;
        s->nlinks++;
    }
    return true;
}

/* Ask for the notifiers of every link of the domain, the reply to any
 * earlier request given up: it may describe the links before this map. */
static void vl_request_notifiers(PCIVlinkState *s)
{
    Vlink__Envelope env = VLINK__ENVELOPE__INIT;
    Vlink__GetNotifiers gn = VLINK__GET_NOTIFIERS__INIT;

    vl_notify_abandon(s);
    for (unsigned i = 0; i < s->nlinks; i++) {
        s->links[i].seen = 0;
    }
    gn.link = (char *)"";
    env.id = s->notify_next;
    env.msg_case = VLINK__ENVELOPE__MSG_GET_NOTIFIERS;
    env.get_notifiers = &gn;
    if (++s->notify_next < VL_ID_NOTIFIERS) {
        s->notify_next = VL_ID_NOTIFIERS;
    }
    if (!vl_send(s, &env)) {
        vl_error(s, "cannot send GetNotifiers to vlinkd");
        return;
    }
    s->notify_id = env.id;
}

/* A notifier must be an eventfd: the vCPU that rings the doorbell writes
 * wake_host and the main loop reads wake_peer, neither may block (a full
 * pipe would) or spin (a file is always readable).  Made non-blocking:
 * vlinkd makes them so, but the file's flags are the sender's to change. */
static bool vl_check_eventfd(int fd, Error **errp)
{
    char path[64], target[64];
    ssize_t len;
    int fl;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    len = readlink(path, target, sizeof(target) - 1);
    if (len < 0) {
        error_setg_errno(errp, errno, "cannot tell what fd %d is (%s)", fd, path);
        return false;
    }
    target[len] = 0;
    if (strcmp(target, "anon_inode:[eventfd]") != 0) {
        error_setg(errp, "a notifier is not an eventfd but '%s'", target);
        return false;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
        error_setg_errno(errp, errno, "cannot make a notifier non-blocking");
        return false;
    }
    return true;
}

/* Swap the reply in: the old notifiers off DOORBELL and the main loop and
 * closed, the new ones on.  A wake-up written to an old one while the ends
 * swapped would be lost: every vector in use fires once and every wake_host
 * is written once (a spurious wake-up costs a look at the rings). */
static void vl_notifiers_install(PCIVlinkState *s)
{
    VlinkNotifier *old = s->notifier;
    unsigned nold = s->nnotifier, nio = 0, i;
    g_autofree unsigned long *fired = bitmap_new(s->vectors);

    memory_region_transaction_begin();
    vl_notifiers_detach(s);
    s->notifier = s->pend;
    s->nnotifier = s->npend;
    s->pend = NULL;
    s->npend = 0;
    s->notify_id = 0;
    for (i = 0; i < s->nnotifier; i++) {
        VlinkNotifier *n = &s->notifier[i];

        n->s = s;
        n->vector = vlink_pci_vector(n->slot, n->channel, s->vectors);
        n->ioeventfd = i < VL_IOEVENTFD_MAX;
        if (n->ioeventfd) {
            memory_region_add_eventfd(&s->regs, VLINK_REG_DOORBELL, 4, true,
                                      VLINK_DOORBELL(n->slot, n->channel), &n->wake_host);
            nio++;
        }
        qemu_set_fd_handler(event_notifier_get_fd(&n->wake_peer), vl_wake_peer, NULL, n);
    }
    memory_region_transaction_commit();
    vl_notifiers_free(old, nold);

    for (i = 0; i < s->nnotifier; i++) {
        VlinkNotifier *n = &s->notifier[i];

        if (!test_and_set_bit(n->vector, fired)) {
            vl_interrupt(s, n->vector, VLINK_ISR_DATA);
        }
        event_notifier_set(&n->wake_host);
    }
    g_free(s->notify_refusal);
    s->notify_refusal = NULL;
    vl_info(s, "notifiers: %u channels of %u links (%u vectors, %u doorbell ioeventfds)",
            s->nnotifier, s->nlinks, s->vectors, nio);
}

/* A part of the reply that is wrong: the whole reply is dropped (its later
 * parts are ignored) and the notifiers in use stay. */
static void G_GNUC_PRINTF(2, 3) vl_notify_refuse(PCIVlinkState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vl_error(s, "refused the notifiers from vlinkd (%s): %s",
             s->nnotifier ? "the old ones stay" : "the guest polls", msg);
    vl_status(s, VLINK_DEV_STATUS_ERROR, 0);
    vl_notify_abandon(s);
}

/* One part of the reply to GetNotifiers: one link's channels (vlinkd never
 * mixes links in a part), fds[] the frame's (the ones taken are set to -1,
 * the caller closes the rest).  The last part (no `more`) swaps the whole
 * reply in when it has every channel of every link of the map. */
static void vl_on_notifiers(PCIVlinkState *s, const Vlink__Envelope *env, int *fds,
                            unsigned nfds)
{
    const Vlink__Notifiers *m = env->notifiers;
    VlinkLink *l;
    Error *err = NULL;
    char why[192];
    unsigned i;

    if (!s->notify_id || env->id != s->notify_id) {
        /* a reply to a request given up is expected; anything else not */
        if (env->id < VL_ID_NOTIFIERS || env->id >= s->notify_next) {
            vl_error(s, "ignored a Notifiers from vlinkd that answers no request (id %u)",
                     env->id);
        }
        return;
    }
    if (m->n_channels == 0) {
        if (nfds) {
            vl_notify_refuse(s, "an empty part carries %u fd(s)", nfds);
            return;
        }
    } else {
        for (i = 0; i < s->nlinks && strcmp(s->links[i].name, m->channels[0]->link); i++) {
        }
        if (i == s->nlinks) {
            vl_notify_refuse(s, "link '%.40s' is not in the DomainMap", m->channels[0]->link);
            return;
        }
        l = &s->links[i];
        if (vlink_msg_check_notifiers(m, nfds, l->name, l->nchannels, &l->seen, why,
                                      sizeof(why))) {
            vl_notify_refuse(s, "%s", why);
            return;
        }
        if (nfds != 2 * m->n_channels) {
            vl_notify_refuse(s, "the frame carries fds the Notifiers do not use");
            return;
        }
        for (i = 0; i < nfds; i++) {
            if (!vl_check_eventfd(fds[i], &err)) {
                vl_notify_refuse(s, "%s", error_get_pretty(err));
                error_free(err);
                return;
            }
        }
        s->pend = g_renew(VlinkNotifier, s->pend, s->npend + m->n_channels);
        for (i = 0; i < m->n_channels; i++) {
            const Vlink__ChannelNotifier *c = m->channels[i];
            VlinkNotifier *n = &s->pend[s->npend++];

            memset(n, 0, sizeof(*n));
            n->slot = l->slot;
            n->channel = c->channel;
            event_notifier_init_fd(&n->wake_host, fds[c->wake_host]);
            event_notifier_init_fd(&n->wake_peer, fds[c->wake_peer]);
            fds[c->wake_host] = -1;
            fds[c->wake_peer] = -1;
        }
    }
    if (env->more) {
        return;
    }
    for (i = 0; i < s->nlinks; i++) {
        l = &s->links[i];
        if (l->seen != (l->nchannels == 64 ? ~0ull : (1ull << l->nchannels) - 1)) {
            vl_notify_refuse(s, "the reply misses channels of link '%s'", l->name);
            return;
        }
    }
    vl_notifiers_install(s);
}

/* vlinkd refused GetNotifiers: a daemon of protocol version 2 does not
 * know it (EPROTO).  The guest polls, or keeps the notifiers it has; said
 * once, until notifiers come. */
static void vl_on_notify_error(PCIVlinkState *s, uint32_t id, const Vlink__Error *e)
{
    g_autofree char *text = NULL;

    if (!s->notify_id || id != s->notify_id) {
        return;                         /* a request given up */
    }
    vl_notify_abandon(s);
    text = g_strdup_printf("vlinkd refused GetNotifiers: %.200s (%s); %s", e->message,
                           vlink_strerror((int)MIN(e->code, 4095u)),
                           s->nnotifier ? "the old notifiers stay" :
                           "no notifiers: the guest polls");
    if (!s->notify_refusal || strcmp(s->notify_refusal, text) != 0) {
        if (e->code == EPROTO) {
            vl_info(s, "%s", text);     /* an older vlinkd: not an error */
        } else {
            vl_error(s, "%s", text);
        }
        g_free(s->notify_refusal);
        s->notify_refusal = g_steal_pointer(&text);
    }
}

static void vl_on_error(PCIVlinkState *s, uint32_t id, const Vlink__Error *e)
{
    g_autofree char *text = g_strdup_printf("vlinkd refused %s: %.200s (%s)",
                                            id == VL_ID_HELLO ? "Hello" :
                                            id == VL_ID_ATTACH ? "AttachDomain" : "a request",
                                            e->message,
                                            vlink_strerror((int)MIN(e->code, 4095u)));

    if (id >= VL_ID_NOTIFIERS && id < s->notify_next) {
        vl_on_notify_error(s, id, e);
        return;
    }
    if (id == VL_ID_ATTACH || id == VL_ID_HELLO) {
        vl_status(s, VLINK_DEV_STATUS_ERROR, 0);
    }
    /* the same refusal on every reconnect is said once */
    if (!s->last_refusal || strcmp(s->last_refusal, text) != 0) {
        vl_error(s, "%s", text);
        g_free(s->last_refusal);
        s->last_refusal = g_steal_pointer(&text);
    }
}

/* One complete frame: payload in s->payload (s->len bytes), its fds in
 * s->fds.  Every fd is used or closed here. */
static void vl_frame(PCIVlinkState *s)
{
    Vlink__Envelope *env = vlink__envelope__unpack(NULL, s->len, s->payload);
    Error *err = NULL;

    if (!env || env->msg_case == VLINK__ENVELOPE__MSG__NOT_SET) {
        vl_error(s, "refused an undecodable message from vlinkd (%u bytes, %u fd(s))",
                 s->len, s->nfds);
        vl_status(s, VLINK_DEV_STATUS_ERROR, 0);
        goto out;
    }
    if (s->nfds && env->msg_case != VLINK__ENVELOPE__MSG_DOMAIN_MAP &&
        env->msg_case != VLINK__ENVELOPE__MSG_NOTIFIERS) {
        vl_error(s, "refused %s from vlinkd: it carries %u fd(s)", vlink_msg_name(env->msg_case),
                 s->nfds);
        vl_status(s, VLINK_DEV_STATUS_ERROR, 0);
        goto out;
    }
    switch (env->msg_case) {
    case VLINK__ENVELOPE__MSG_HELLO_REPLY:
        if (s->hello) {
            vl_error(s, "refused a second HelloReply from vlinkd");
            break;
        }
        s->hello = true;
        s->connects++;
        vl_status(s, VLINK_DEV_STATUS_CONNECTED, 0);
        if (env->hello_reply->version != VLINK_PROTOCOL_VERSION) {
            warn_report("pci-vlink (domain '%s'): vlinkd speaks protocol version %u, "
                        "the device %u", domain_of(s), env->hello_reply->version,
                        VLINK_PROTOCOL_VERSION);
        }
        vl_info(s, "connected to vlinkd %.40s (daemon id %.40s), connection %u",
                env->hello_reply->daemon_version, env->hello_reply->daemon_id, s->connects);
        break;
    case VLINK__ENVELOPE__MSG_DOMAIN_MAP:
        if (!s->hello) {
            vl_error(s, "refused a DomainMap that came before HelloReply");
            vl_status(s, VLINK_DEV_STATUS_ERROR, 0);
            break;
        }
        if (!vl_apply_map(s, env->domain_map, s->fds, s->nfds, &err)) {
            error_prepend(&err, "pci-vlink (domain '%s'): refused a DomainMap from vlinkd "
                          "(the old mapping stays): ", domain_of(s));
            error_report_err(err);
            vl_status(s, VLINK_DEV_STATUS_ERROR, 0);
            break;
        }
        g_free(s->last_refusal);
        s->last_refusal = NULL;
        /* the links may have changed: their notifiers, in the new slots */
        vl_notify_abandon(s);
        if (!vl_links_from_map(s, env->domain_map, &err)) {
            error_prepend(&err, "pci-vlink (domain '%s'): no notifiers for generation %u "
                          "(%s): ", domain_of(s), s->generation,
                          s->nnotifier ? "the old ones stay" : "the guest polls");
            error_report_err(err);
            break;
        }
        vl_request_notifiers(s);
        break;
    case VLINK__ENVELOPE__MSG_NOTIFIERS:
        vl_on_notifiers(s, env, s->fds, s->nfds);
        break;
    case VLINK__ENVELOPE__MSG_ERROR:
        vl_on_error(s, env->id, env->error);
        break;
    case VLINK__ENVELOPE__MSG_EVENT:
        if (env->event->kind == VLINK__EVENT__KIND__DAEMON_EXIT) {
            vl_info(s, "vlinkd is shutting down; the mappings stay");
        }
        break;
    case VLINK__ENVELOPE__MSG_OK:
        break;
    default:
        vl_error(s, "ignored an unexpected %s from vlinkd", vlink_msg_name(env->msg_case));
        break;
    }
out:
    close_fds(s->fds, s->nfds);
    s->nfds = 0;
    if (env) {
        vlink__envelope__free_unpacked(env, NULL);
    }
}

/* How much to read next: never past the current header or payload, so that
 * fds (which ride on a frame's first byte) always arrive in the read that
 * starts a frame. */
static int vl_can_read(void *opaque)
{
    PCIVlinkState *s = opaque;

    if (s->dead) {
        return 0;
    }
    if (s->hdr_got < VLINK_FRAME_HDR_SIZE) {
        return VLINK_FRAME_HDR_SIZE - s->hdr_got;
    }
    return s->len - s->got;
}

static void vl_read(void *opaque, const uint8_t *buf, int size)
{
    PCIVlinkState *s = opaque;
    int fds[VLINK_FRAME_MAX_FDS];
    int n;

    /* The socket chardev keeps only the fds of its latest recvmsg():
     * take them every time. */
    n = qemu_chr_fe_get_msgfds(&s->chr, fds, VLINK_FRAME_MAX_FDS);
    if (s->dead) {
        close_fds(fds, n > 0 ? n : 0);
        return;
    }
    if (n > 0) {
        if (s->hdr_got || s->nfds) {
            close_fds(fds, n);
            vl_drop(s, "%d fd(s) arrived in the middle of a frame", n);
            return;
        }
        memcpy(s->fds, fds, n * sizeof(int));
        s->nfds = n;
    }

    while (size > 0 && !s->dead) {
        if (s->hdr_got < VLINK_FRAME_HDR_SIZE) {
            uint32_t k = MIN((uint32_t)size, VLINK_FRAME_HDR_SIZE - s->hdr_got);
            struct vlink_frame_hdr fh;
            char why[96];

            memcpy(s->hdr + s->hdr_got, buf, k);
            s->hdr_got += k;
            buf += k;
            size -= k;
            if (s->hdr_got < VLINK_FRAME_HDR_SIZE) {
                break;
            }
            if (vlink_frame_hdr_decode(s->hdr, &fh, why, sizeof(why))) {
                vl_drop(s, "%s", why);
                return;
            }
            /* the chardev hands over the fds of each recvmsg(): those of
             * the chunk that began this frame */
            if (fh.nfds != s->nfds) {
                vl_drop(s, "the frame claims %u fd(s), %u came with it", fh.nfds, s->nfds);
                return;
            }
            s->len = fh.len;
            s->got = 0;
            s->payload = g_malloc(fh.len ? fh.len : 1);
        } else {
            uint32_t k = MIN((uint32_t)size, s->len - s->got);

            memcpy(s->payload + s->got, buf, k);
            s->got += k;
            buf += k;
            size -= k;
        }
        if (s->got == s->len) {
            vl_frame(s);
            vl_rx_reset(s);
        }
    }
}

static void vl_event(void *opaque, QEMUChrEvent event)
{
    PCIVlinkState *s = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        vl_rx_reset(s);
        s->dead = false;
        s->hello = false;
        vl_send_hello(s);
        break;
    case CHR_EVENT_CLOSED:
        if (s->status & VLINK_DEV_STATUS_CONNECTED) {
            vl_info(s, "vlinkd connection closed; %s", (s->status & VLINK_DEV_STATUS_MAPPED) ?
                    "the mappings stay" : "nothing was mapped");
        }
        vl_status(s, 0, VLINK_DEV_STATUS_CONNECTED);
        s->hello = false;
        s->dead = false;
        vl_rx_reset(s);
        /* the notifiers in use stay: the host end may live on and signal
         * them; a new vlinkd's replace them once it sent its map */
        vl_notify_abandon(s);
        break;
    default:
        break;
    }
}

/* -------------------------------------------------------------- device */

static void pci_vlink_realize(PCIDevice *pdev, Error **errp)
{
    PCIVlinkState *s = PCI_VLINK(pdev);
    Chardev *chr = qemu_chr_fe_get_driver(&s->chr);
    g_autofree char *bar_str = NULL, *reg_str = NULL;
    char why[128];

    if (!chr) {
        error_setg(errp, "property 'chardev' is required: -chardev socket,id=ID,"
                   "path=VLINKD_SOCKET,reconnect=1 -device pci-vlink,chardev=ID,vm_domain=NAME");
        return;
    }
    if (!object_dynamic_cast(OBJECT(chr), TYPE_CHARDEV_SOCKET) ||
        !qemu_chr_has_feature(chr, QEMU_CHAR_FEATURE_FD_PASS)) {
        error_setg(errp, "property 'chardev': '%s' must be a Unix socket chardev "
                   "(-chardev socket,path=VLINKD_SOCKET,reconnect=1)", chr->label);
        return;
    }
    if (SOCKET_CHARDEV(chr)->is_listen) {
        error_setg(errp, "property 'chardev': '%s' must connect to vlinkd, not listen "
                   "(drop server=on)", chr->label);
        return;
    }
    if (!SOCKET_CHARDEV(chr)->reconnect_time) {
        warn_report("pci-vlink: chardev '%s' has no reconnect=: the device will not "
                    "reconnect after vlinkd restarts (add reconnect=1)", chr->label);
    }
    if (!s->domain) {
        error_setg(errp, "property 'vm_domain' is required (the vlinkd domain of this VM, "
                   "1-%d printable characters)", VLINK_NAME_MAX);
        return;
    }
    if (vlink_check_name("property 'vm_domain'", s->domain, why, sizeof(why))) {
        error_setg(errp, "%s", why);
        return;
    }
    if (!is_power_of_2(s->bar_size) || s->bar_size < VL_BAR_MIN || s->bar_size > VL_BAR_MAX) {
        bar_str = size_to_str(s->bar_size);
        error_setg(errp, "property 'bar-size' must be a power of two from 2M to 1G "
                   "(the largest pool vlinkd makes), not %s", bar_str);
        return;
    }
    if (!is_power_of_2(s->region_size) || s->region_size < VL_REGION_MIN ||
        s->region_size > VL_BAR_MAX) {
        reg_str = size_to_str(s->region_size);
        error_setg(errp, "property 'region-size' must be a power of two from 8K to 1G, not %s",
                   reg_str);
        return;
    }
    if (s->vectors < VL_VECTORS_MIN || s->vectors > VL_VECTORS_MAX) {
        error_setg(errp, "property 'vectors' must be from %d to %d, not %u", VL_VECTORS_MIN,
                   VL_VECTORS_MAX, s->vectors);
        return;
    }
    /* last of what can fail: nothing before needs undoing */
    if (msix_init_exclusive_bar(pdev, s->vectors, VLINK_PCI_BAR_MSIX, errp)) {
        error_prepend(errp, "pci-vlink: MSI-X: ");
        return;
    }
    /* every vector is in use: which one a channel takes is fixed by
     * vlink_pci_vector(), not negotiated */
    for (unsigned v = 0; v < s->vectors; v++) {
        msix_vector_use(pdev, v);
    }
    pci_config_set_interrupt_pin(pdev->config, 1);  /* INTA#, while MSI-X is off */
    s->isr = 0;
    s->intx_armed = false;
    s->notify_next = VL_ID_NOTIFIERS;

    memset(s->domain_reg, 0, sizeof(s->domain_reg));
    memcpy(s->domain_reg, s->domain, MIN(strlen(s->domain), sizeof(s->domain_reg)));
    for (unsigned i = 0; i < VLINK_FRAME_MAX_FDS; i++) {
        s->fds[i] = -1;
    }

    memory_region_init_io(&s->regs, OBJECT(s), &vl_regs_ops, s, "pci-vlink.regs",
                          VLINK_REGS_SIZE);
    pci_register_bar(pdev, VLINK_PCI_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->regs);
    memory_region_init(&s->bar2, OBJECT(s), "pci-vlink.pool", s->bar_size);
    pci_register_bar(pdev, VLINK_PCI_BAR_POOL, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_PREFETCH | PCI_BASE_ADDRESS_MEM_TYPE_64, &s->bar2);
    memory_region_init(&s->bar4, OBJECT(s), "pci-vlink.chan", s->region_size);
    pci_register_bar(pdev, VLINK_PCI_BAR_REGION, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_PREFETCH | PCI_BASE_ADDRESS_MEM_TYPE_64, &s->bar4);

    s->drop_bh = qemu_bh_new(vl_drop_bh, s);
    qemu_chr_fe_set_handlers(&s->chr, vl_can_read, vl_read, vl_event, NULL, s, NULL, true);
}

static void pci_vlink_exit(PCIDevice *pdev)
{
    PCIVlinkState *s = PCI_VLINK(pdev);

    qemu_chr_fe_set_handlers(&s->chr, NULL, NULL, NULL, NULL, NULL, NULL, false);
    if (s->drop_bh) {
        qemu_bh_delete(s->drop_bh);
        s->drop_bh = NULL;
    }
    vl_rx_reset(s);
    vl_notify_abandon(s);
    memory_region_transaction_begin();
    vl_notifiers_detach(s);
    memory_region_transaction_commit();
    vl_notifiers_free(s->notifier, s->nnotifier);
    s->notifier = NULL;
    s->nnotifier = 0;
    vl_unmap_all(s);
    g_free(s->last_refusal);
    s->last_refusal = NULL;
    g_free(s->notify_refusal);
    s->notify_refusal = NULL;
    msix_uninit_exclusive_bar(pdev);
}

/* A guest reset: the PCI core lowers INTx and resets the MSI-X table (the
 * vectors stay in use); the causes in ISR go too, and INTx waits for the
 * next driver to read ISR.  The registers and the mappings are the host's
 * and stay. */
static void pci_vlink_reset(DeviceState *dev)
{
    PCIVlinkState *s = PCI_VLINK(dev);

    s->isr = 0;
    s->intx_armed = false;
}

static const VMStateDescription pci_vlink_vmsd = {
    .name = TYPE_PCI_VLINK,
    .unmigratable = 1,              /* the memory belongs to this host's vlinkd */
};

static Property pci_vlink_properties[] = {
    DEFINE_PROP_CHR("chardev", PCIVlinkState, chr),
    DEFINE_PROP_STRING("vm_domain", PCIVlinkState, domain),
    DEFINE_PROP_SIZE("bar-size", PCIVlinkState, bar_size, 1 * GiB),
    DEFINE_PROP_SIZE("region-size", PCIVlinkState, region_size, 16 * MiB),
    DEFINE_PROP_UINT32("vectors", PCIVlinkState, vectors, 65),
    DEFINE_PROP_END_OF_LIST(),
};

static void pci_vlink_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = pci_vlink_realize;
    k->exit = pci_vlink_exit;
    k->vendor_id = VLINK_PCI_VENDOR_ID;
    k->device_id = VLINK_PCI_DEVICE_ID;
    k->revision = VLINK_PCI_REVISION;
    k->class_id = PCI_CLASS_MEMORY_RAM;
    dc->desc = "vlink zero-copy packet memory (a vlinkd domain)";
    dc->vmsd = &pci_vlink_vmsd;
    dc->reset = pci_vlink_reset;
    device_class_set_props(dc, pci_vlink_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo pci_vlink_info = {
    .name = TYPE_PCI_VLINK,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PCIVlinkState),
    .class_init = pci_vlink_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void pci_vlink_register_types(void)
{
    type_register_static(&vlink_mem_info);
    type_register_static(&pci_vlink_info);
}

type_init(pci_vlink_register_types)
