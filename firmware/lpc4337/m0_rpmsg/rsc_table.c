/*
 * rsc_table.c - the resource table, crash word included.
 *
 * The table sits right after the vector table (m0_rpmsg.ld), at 0x100800C0,
 * 152 bytes, section .resource_table. Its third entry is a vendor resource
 * (type 128) holding the crash word, which the LPC43xx remoteproc driver
 * locates through the table (handle_rsc) in the copy Linux loads.
 */
#include "rsc_table.h"

#include "trace.h"

__attribute__((section(".resource_table"), used, aligned(4)))
struct m0_resource_table m0_resource_table = {
    .hdr = {
        .ver = RSC_TABLE_VERSION,
        .num = 3u,
        .reserved = { 0u, 0u },
    },
    .offset = { M0_RSC_OFF_TRACE, M0_RSC_OFF_VDEV, M0_RSC_OFF_CRASH },

    .trace_type = RSC_TYPE_TRACE,
    .trace = {
        .da = (uint32_t)(uintptr_t)m0_trace_buf,
        .len = M0_TRACE_BUF_SIZE,
        .reserved = 0u,
        .name = "trace",
    },

    .vdev_type = RSC_TYPE_VDEV,
    .vdev = {
        .id = VIRTIO_ID_RPMSG,
        .notifyid = 0u,
        .dfeatures = 1u << VIRTIO_RPMSG_F_NS,
        .gfeatures = 0u,          /* written by Linux (negotiated) */
        .config_len = 0u,
        .status = 0u,             /* written by Linux (DRIVER_OK = 4) */
        .num_of_vrings = M0_VRING_COUNT,
        .reserved = { 0u, 0u },
    },
    .vring = {
        /* da written by Linux before DRIVER_OK; notifyid overwritten by
         * Linux with the ids it allocates (0 and 1 in practice). */
        [M0_VRING_TO_HOST] = {
            .da = RSC_ADDR_ANY, .align = M0_VRING_ALIGN, .num = M0_VRING_NUM,
            .notifyid = 1u, .pa = 0u,
        },
        [M0_VRING_FROM_HOST] = {
            .da = RSC_ADDR_ANY, .align = M0_VRING_ALIGN, .num = M0_VRING_NUM,
            .notifyid = 2u, .pa = 0u,
        },
    },
    .crash_type = RSC_TYPE_CRASH_WORD,
    .crash_word = 0u,
};

/* m0_resource_table.crash_word starts at 0: every (re)load by remoteproc resets it. */
