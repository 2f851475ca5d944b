/*
 * virtio.h - device ("remote") side of a legacy split virtqueue.
 *
 * Ring layout for num entries and alignment align at device address da
 * (Linux 6.1 include/uapi/linux/virtio_ring.h, vring_init/vring_size):
 *     da + 0            desc[num]        16 bytes each
 *     da + 16*num       avail { u16 flags; u16 idx; u16 ring[num]; u16 used_event; }
 *     ALIGN(da + 16*num + 2*(3+num), align)
 *                       used  { u16 flags; u16 idx; { u32 id; u32 len; } ring[num]; u16 avail_event; }
 * Little-endian (legacy virtio on a little-endian host). Neither
 * VIRTIO_RING_F_EVENT_IDX nor VIRTIO_RING_F_INDIRECT_DESC is offered, so
 * used_event/avail_event are unused and descriptors are direct.
 *
 * Device addresses are physical addresses on the LPC4337 (no MMU, no
 * IOMMU) and are used as pointers. The M0 has no cache and executes in
 * order; barriers are DSBs (the only barrier this code emits).
 */
#ifndef M0_RPMSG_VIRTIO_H
#define M0_RPMSG_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#define VRING_DESC_F_NEXT         1u
#define VRING_DESC_F_WRITE        2u
#define VRING_AVAIL_F_NO_INTERRUPT 1u

struct vring_desc {
    uint32_t addr_lo;            /* u64 addr, little-endian */
    uint32_t addr_hi;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vring_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];             /* [num], then u16 used_event */
};

struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};

struct vring_used {
    uint16_t flags;
    uint16_t idx;
    struct vring_used_elem ring[]; /* [num], then u16 avail_event */
};

_Static_assert(sizeof(struct vring_desc) == 16, "vring_desc");
_Static_assert(sizeof(struct vring_avail) == 4, "vring_avail header");
_Static_assert(sizeof(struct vring_used_elem) == 8, "vring_used_elem");
_Static_assert(sizeof(struct vring_used) == 4, "vring_used header");

/* Offset of the used ring from the start of a vring whose address is a
 * multiple of align (Linux's carveouts are page aligned). */
#define VRING_USED_OFFSET(num, align) \
    (((16u * (num)) + 2u * (3u + (num)) + ((align) - 1u)) & ~((align) - 1u))
/* Total size (= Linux vring_size()). */
#define VRING_SIZE(num, align) \
    (VRING_USED_OFFSET(num, align) + 2u * 3u + 8u * (num))

_Static_assert(VRING_USED_OFFSET(16u, 16u) == 304u, "used ring at +304 for 16/16");
_Static_assert(VRING_SIZE(16u, 16u) == 438u, "vring_size(16, 16)");

struct virtqueue {
    volatile struct vring_desc *desc;
    volatile struct vring_avail *avail;
    volatile struct vring_used *used;
    const char *name;            /* for the trace log */
    uint16_t num;                /* power of 2 */
    uint16_t last_avail;         /* next avail->ring slot to take */
    uint16_t used_idx;           /* shadow of used->idx */
    uint8_t published;           /* used entries added since the last notify */
    uint8_t broken;              /* ring contents were invalid: stop using it */
};

/* One available buffer (a single descriptor, chains are not followed). */
struct vq_buf {
    uint8_t *addr;
    uint32_t len;
    uint16_t head;
    uint16_t flags;
};

/* Attach to a ring that the driver has already initialised (Linux zeroes
 * it before DRIVER_OK): both indices start at 0. Returns false if da,
 * num or align is unusable. */
bool vq_attach(struct virtqueue *vq, uint32_t da, uint32_t num, uint32_t align,
               const char *name);

/* Next available buffer without consuming it; false if none (or broken). */
bool vq_peek(struct virtqueue *vq, struct vq_buf *buf);

/* Consume the buffer vq_peek returned. */
void vq_pop(struct virtqueue *vq);

/* Return descriptor head to the driver with len bytes written; publishes
 * used->idx (DSB before it). */
void vq_push_used(struct virtqueue *vq, uint16_t head, uint32_t len);

/* True if entries were published since the last call and the driver did
 * not suppress interrupts for this queue; clears the published state. */
bool vq_take_notify(struct virtqueue *vq);

#endif /* M0_RPMSG_VIRTIO_H */
