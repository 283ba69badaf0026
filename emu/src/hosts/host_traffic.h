/*
 * Traffic for ndisemu's miniport hosts: the packets they indicate and the
 * MDL layouts they indicate them in. Plain C, no NDIS types: a packet set is
 * loaded (pcap) or generated once, before any CPU runs, and is read-only
 * afterwards, so every host thread may read it without synchronization.
 */
#ifndef NDISEMU_HOST_TRAFFIC_H
#define NDISEMU_HOST_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMU_FRAME_MAX 16384u /* larger captured frames are truncated to this */
#define EMU_SPLIT_MAX_SEGS 256u

struct emu_packet {
    const uint8_t *data;
    uint32_t len;
};

struct emu_traffic {
    struct emu_packet *pkts;
    size_t count;
    uint32_t max_len;
    uint8_t *arena;
};

struct emu_traffic *emu_traffic_load_pcap(const char *path, char *err, size_t errlen);
/* count valid Ethernet II frames: IPv4/IPv6 x TCP/UDP/ICMP, checksums right. */
struct emu_traffic *emu_traffic_generate(size_t count, uint64_t seed);
/* Like it, with lengths up to and beyond the Ethernet MTU: 74-byte frames,
   1514 (a 1500-byte payload), 1515, and jumbo frames up to 9014. */
#define EMU_MTU_SET_MAX_FRAME 9014u
struct emu_traffic *emu_traffic_generate_mtu(size_t count, uint64_t seed);
void emu_traffic_free(struct emu_traffic *t);

enum emu_split_kind { EMU_SPLIT_NONE, EMU_SPLIT_HALF, EMU_SPLIT_RANDOM, EMU_SPLIT_EVERY };
struct emu_split {
    enum emu_split_kind kind;
    uint32_t every;
};
/* "none" | "half" | "random" | "every:N" (N >= 1). */
bool emu_split_parse(const char *s, struct emu_split *out);
/*
 * Lengths of the MDLs one packet of len bytes is indicated in; returns their
 * number (1..max). "random" always cuts once inside the first 54 bytes so
 * that some header field (MAC, EtherType, IP address, port) straddles two
 * MDLs: the case a filter that assumes a contiguous header gets wrong.
 * every:N beyond max segments puts the rest in the last one.
 */
unsigned emu_split_lengths(const struct emu_split *s, uint32_t len, uint64_t *rng, uint32_t *seg,
                           unsigned max);

/* splitmix64: deterministic, seedable, one word of state. */
uint64_t emu_rng_next(uint64_t *state);

#endif
