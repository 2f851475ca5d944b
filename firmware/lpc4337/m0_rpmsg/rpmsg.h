/*
 * rpmsg.h - remote side of the virtio RPMsg bus (Linux 6.1
 * drivers/rpmsg/virtio_rpmsg_bus.c, include/linux/rpmsg/ns.h).
 *
 * Queues (as seen from Linux, which is the virtio driver):
 *   vring[0] = Linux's rx queue ("input"):  Linux posts empty 512-byte
 *              buffers; the remote fills one and returns it through the
 *              used ring -> rpmsg_send() here.
 *   vring[1] = Linux's tx queue ("output"): Linux posts filled buffers
 *              (descriptor len = 16 + payload); the remote reads each and
 *              returns it with used len 0 -> rpmsg_service() here.
 * Every buffer starts with struct rpmsg_hdr (16 bytes, little-endian).
 */
#ifndef M0_RPMSG_RPMSG_H
#define M0_RPMSG_RPMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio.h"

#define RPMSG_BUF_SIZE      512u  /* MAX_RPMSG_BUF_SIZE */
#define RPMSG_HDR_SIZE      16u
#define RPMSG_MAX_PAYLOAD   (RPMSG_BUF_SIZE - RPMSG_HDR_SIZE) /* 496 */
#define RPMSG_NS_ADDR       53u
#define RPMSG_NAME_SIZE     32u
#define RPMSG_NS_CREATE     0u
#define RPMSG_NS_DESTROY    1u
#define RPMSG_MAX_EPTS      4u

struct rpmsg_hdr {
    uint32_t src;
    uint32_t dst;
    uint32_t reserved;
    uint16_t len;
    uint16_t flags;
    uint8_t data[];
};

struct rpmsg_ns_msg {
    char name[RPMSG_NAME_SIZE];
    uint32_t addr;
    uint32_t flags;
};

_Static_assert(sizeof(struct rpmsg_hdr) == RPMSG_HDR_SIZE, "rpmsg_hdr");
_Static_assert(offsetof(struct rpmsg_hdr, len) == 12, "rpmsg_hdr.len");
_Static_assert(offsetof(struct rpmsg_hdr, flags) == 14, "rpmsg_hdr.flags");
_Static_assert(sizeof(struct rpmsg_ns_msg) == 40, "rpmsg_ns_msg");
_Static_assert(offsetof(struct rpmsg_ns_msg, addr) == 32, "rpmsg_ns_msg.addr");

/* rpmsg_send() results */
#define RPMSG_OK           0
#define RPMSG_ERR_NOBUF   (-1) /* no free buffer from Linux yet: retry later */
#define RPMSG_ERR_INVAL   (-2) /* too long for the buffer Linux gave */
#define RPMSG_ERR_DOWN    (-3) /* vdev not (or no longer) DRIVER_OK */

/* Endpoint callback results */
#define RPMSG_RX_DONE      0 /* message consumed: return the buffer */
#define RPMSG_RX_RETRY     1 /* keep it queued, retry after the next kick */

struct rpmsg_dev;
struct rpmsg_ept;

/* data points into Linux's buffer (valid during the call only). A callback
 * returning RPMSG_RX_RETRY must not have had any effect. */
typedef int (*rpmsg_rx_cb)(struct rpmsg_dev *dev, struct rpmsg_ept *ept,
                           uint32_t src, const uint8_t *data, uint32_t len);

struct rpmsg_ept {
    const char *name;     /* announced service name, NULL = no announcement */
    uint32_t addr;        /* local address */
    rpmsg_rx_cb cb;
    uint32_t rx_count;    /* messages delivered to cb (RPMSG_RX_DONE) */
    uint8_t announced;
};

/* Link states reported by rpmsg_link_poll() */
#define RPMSG_LINK_WAIT    0 /* status has no DRIVER_OK yet */
#define RPMSG_LINK_UP      1
#define RPMSG_LINK_FAILED  2 /* DRIVER_OK but unusable vrings (logged) */

struct rpmsg_stats {
    uint32_t rx_msgs;     /* messages taken from vring[1] */
    uint32_t tx_msgs;     /* messages put into vring[0] (incl. NS) */
    uint32_t dropped;     /* no endpoint / malformed */
    uint32_t notifies;    /* SEVs towards Linux */
    uint32_t link_ups;
};

struct rpmsg_dev {
    struct virtqueue to_host;   /* vring[0] */
    struct virtqueue from_host; /* vring[1] */
    struct rpmsg_ept *epts[RPMSG_MAX_EPTS];
    uint32_t n_epts;
    uint8_t up;
    uint8_t failed;
    struct rpmsg_stats stats;
};

void rpmsg_init(struct rpmsg_dev *dev);
bool rpmsg_add_ept(struct rpmsg_dev *dev, struct rpmsg_ept *ept);

/* Re-read the vdev status in the resource table; on the transition to
 * DRIVER_OK attach the vrings (device addresses from the table) and
 * schedule the name-service announcements. */
int rpmsg_link_poll(struct rpmsg_dev *dev);

/* True once the resource table's vdev status has DRIVER_OK. */
bool rpmsg_driver_ok(void);

/* Send len bytes from src to dst (one buffer of vring[0]). Does not
 * notify; rpmsg_service() does after its round. */
int rpmsg_send(struct rpmsg_dev *dev, uint32_t src, uint32_t dst,
               const void *data, uint32_t len);

/* One service round (link up only): pending announcements, all messages
 * queued on vring[1], then one notification if anything was returned. */
void rpmsg_service(struct rpmsg_dev *dev);

#endif /* M0_RPMSG_RPMSG_H */
