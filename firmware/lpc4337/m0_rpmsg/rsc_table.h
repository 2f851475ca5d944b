/*
 * rsc_table.h - the remoteproc resource table of m0_rpmsg.
 *
 * Layout facts (Linux 6.1, include/linux/rsc_table.h): every structure is
 * packed and little-endian; the table header is { ver, num, reserved[2] }
 * followed by num u32 offsets (from the table start), and every resource
 * entry starts with its u32 type (struct fw_rsc_hdr) followed by the
 * type-specific body. Linux parses the table from the ELF section named
 * ".resource_table", copies its (updated) copy back over the loaded
 * section before starting the M0, and afterwards keeps writing into the
 * loaded copy (vring device addresses, virtio status, gfeatures).
 *
 * The structure names below are this project's; field order and sizes
 * are the kernel ABI and are checked with _Static_assert.
 */
#ifndef M0_RPMSG_RSC_TABLE_H
#define M0_RPMSG_RSC_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define RSC_TABLE_VERSION     1u
#define RSC_TYPE_TRACE        2u        /* RSC_TRACE */
#define RSC_TYPE_VDEV         3u        /* RSC_VDEV  */
#define RSC_TYPE_CRASH_WORD   128u      /* RSC_VENDOR_START: the LPC43xx driver's crash word */
#define RSC_ADDR_ANY          0xFFFFFFFFu /* FW_RSC_ADDR_ANY */
#define RSC_NAME_SIZE         32u

#define VIRTIO_ID_RPMSG       7u
#define VIRTIO_RPMSG_F_NS     0u        /* feature bit: name service */
#define VIRTIO_STATUS_DRIVER_OK 4u      /* VIRTIO_CONFIG_S_DRIVER_OK */

/* The virtqueues this firmware asks for (both the same, as
 * virtio_rpmsg_bus expects symmetric rings). num must be a power of 2. */
#define M0_VRING_NUM          16u
#define M0_VRING_ALIGN        16u
#define M0_VRING_COUNT        2u
/* Index in vring[]: 0 = Linux's "input" (rx) queue = remote -> Linux,
 *                   1 = Linux's "output" (tx) queue = Linux -> remote. */
#define M0_VRING_TO_HOST      0u
#define M0_VRING_FROM_HOST    1u

#define M0_TRACE_BUF_SIZE     2048u

struct rsc_hdr {                 /* struct resource_table without offset[] */
    uint32_t ver;
    uint32_t num;
    uint32_t reserved[2];
} __attribute__((packed));

struct rsc_trace {               /* struct fw_rsc_trace */
    uint32_t da;
    uint32_t len;
    uint32_t reserved;
    uint8_t name[RSC_NAME_SIZE];
} __attribute__((packed));

struct rsc_vdev_vring {          /* struct fw_rsc_vdev_vring */
    uint32_t da;
    uint32_t align;
    uint32_t num;
    uint32_t notifyid;
    uint32_t pa;
} __attribute__((packed));

struct rsc_vdev {                /* struct fw_rsc_vdev up to vring[] */
    uint32_t id;
    uint32_t notifyid;
    uint32_t dfeatures;
    uint32_t gfeatures;
    uint32_t config_len;
    uint8_t status;
    uint8_t num_of_vrings;
    uint8_t reserved[2];
} __attribute__((packed));

/* The whole table as it sits in SRAM1. */
struct m0_resource_table {
    struct rsc_hdr hdr;
    uint32_t offset[3];

    uint32_t trace_type;         /* RSC_TYPE_TRACE */
    struct rsc_trace trace;

    uint32_t vdev_type;          /* RSC_TYPE_VDEV */
    struct rsc_vdev vdev;
    struct rsc_vdev_vring vring[M0_VRING_COUNT];
    uint32_t crash_type;         /* RSC_TYPE_CRASH_WORD */
    uint32_t crash_word;         /* 0 while running; M0_CRASH_MAGIC after a fault */
} __attribute__((packed));

/* Sizes of the kernel structures (rsc_table.h, 6.1). */
_Static_assert(sizeof(struct rsc_hdr) == 16, "struct resource_table header");
_Static_assert(sizeof(struct rsc_trace) == 44, "struct fw_rsc_trace");
_Static_assert(sizeof(struct rsc_vdev_vring) == 20, "struct fw_rsc_vdev_vring");
_Static_assert(sizeof(struct rsc_vdev) == 24, "struct fw_rsc_vdev (no vrings)");

/* Offsets derived from them: header 16 + 2 offsets = 24; trace entry =
 * 4 (type) + 44 = 48 -> vdev entry at 72; vdev entry = 4 (type) +
 * struct_size(fw_rsc_vdev, vring, 2) = 4 + 24 + 2 * 20 = 68 -> 140. */
#define M0_RSC_OFF_TRACE 28u
#define M0_RSC_OFF_VDEV  76u
#define M0_RSC_OFF_CRASH 144u
#define M0_RSC_SIZE      152u
_Static_assert(offsetof(struct m0_resource_table, offset) == 16, "offset[]");
_Static_assert(offsetof(struct m0_resource_table, trace_type) == M0_RSC_OFF_TRACE, "trace entry");
_Static_assert(offsetof(struct m0_resource_table, trace) == 32, "trace body");
_Static_assert(offsetof(struct m0_resource_table, vdev_type) == M0_RSC_OFF_VDEV, "vdev entry");
_Static_assert(offsetof(struct m0_resource_table, vdev) == 80, "vdev body");
_Static_assert(offsetof(struct m0_resource_table, vdev.status) == 100, "vdev status");
_Static_assert(offsetof(struct m0_resource_table, vdev.num_of_vrings) == 101, "vdev num_of_vrings");
_Static_assert(offsetof(struct m0_resource_table, vring) == 104, "vdev vring[0]");
_Static_assert(offsetof(struct m0_resource_table, vring[1]) == 124, "vdev vring[1]");
_Static_assert(offsetof(struct m0_resource_table, crash_type) == M0_RSC_OFF_CRASH, "crash word entry");
_Static_assert(sizeof(struct m0_resource_table) == M0_RSC_SIZE, "table size");


extern struct m0_resource_table m0_resource_table;
/* The crash word lives in the loaded table, where the Linux driver finds it. */
#define m0_crash_word (*(volatile uint32_t *)&m0_resource_table.crash_word)

/* Live view of the fields Linux writes after the M0 started. */
static inline uint8_t rsc_vdev_status(void)
{
    return *(volatile uint8_t *)&m0_resource_table.vdev.status;
}

static inline uint32_t rsc_vdev_gfeatures(void)
{
    return *(volatile uint32_t *)&m0_resource_table.vdev.gfeatures;
}

static inline uint32_t rsc_vring_da(unsigned int i)
{
    return *(volatile uint32_t *)&m0_resource_table.vring[i].da;
}

static inline uint32_t rsc_vring_notifyid(unsigned int i)
{
    return *(volatile uint32_t *)&m0_resource_table.vring[i].notifyid;
}

#endif /* M0_RPMSG_RSC_TABLE_H */
