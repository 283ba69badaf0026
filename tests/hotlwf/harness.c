/*
 * The probe host is synchronous on purpose: its protocol end returns each
 * receive and its miniport end completes each send before the call that
 * brought it returns, so when hlt_probe_receive returns every NBL is home
 * and the counts are exact, which is what comparing with tcpdump needs.
 * (ndisemu's own hosts, with pacing threads and deferred returns, drive
 * the stress test.)
 */
#include <pcap/pcap.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter.h"
#include "device.h"
#include "harness.h"
#include "host.h"
#include "kernel.h"
#include "verifier.h"

_Atomic int hlt_failures;
_Atomic long hlt_checks;

/*
 * A miniport or protocol must stop originating when paused and wait until
 * what it originated is back. Seq-cst Dekker pair: a batch marks itself busy
 * and then checks paused; pause sets paused and then waits for busy to drain.
 */
struct probe_gate {
    atomic_int paused;
    atomic_int busy;
};

struct hlt_probe {
    struct emu_adapter *ad;
    NDIS_HANDLE mp_pool, pr_pool;
    struct probe_gate rx, tx;
    atomic_size_t delivered, returned, reached, completed, rx_skipped, tx_skipped;
    bool shared;
};

static void gate_pause(struct probe_gate *g)
{
    atomic_store(&g->paused, 1);
    while (atomic_load(&g->busy) != 0)
        sched_yield();
}

static void probe_mp_pause(void *ctx)
{
    gate_pause(&((struct hlt_probe *)ctx)->rx);
}

static void probe_mp_restart(void *ctx)
{
    atomic_store(&((struct hlt_probe *)ctx)->rx.paused, 0);
}

static void probe_pr_pause(void *ctx)
{
    gate_pause(&((struct hlt_probe *)ctx)->tx);
}

static void probe_pr_restart(void *ctx)
{
    atomic_store(&((struct hlt_probe *)ctx)->tx.paused, 0);
}

static void probe_mp_send(void *ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG flags)
{
    struct hlt_probe *p = ctx;
    size_t n = 0;
    (void)port;
    for (PNET_BUFFER_LIST nbl = nbls; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
        n++;
    }
    atomic_fetch_add(&p->reached, n);
    emu_miniport_send_complete(
        p->ad, nbls,
        (flags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0);
}

static void probe_mp_return(void *ctx, PNET_BUFFER_LIST nbls, ULONG flags)
{
    struct hlt_probe *p = ctx;
    size_t n = 0;
    (void)flags;
    for (PNET_BUFFER_LIST nbl = nbls; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        n++;
    atomic_fetch_add(&p->returned, n);
}

static NDIS_STATUS probe_mp_oid(void *ctx, PNDIS_OID_REQUEST req)
{
    (void)ctx, (void)req;
    return NDIS_STATUS_NOT_SUPPORTED;
}

static void probe_pr_receive(void *ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count,
                             ULONG flags)
{
    struct hlt_probe *p = ctx;
    size_t n = 0;
    (void)port;
    for (PNET_BUFFER_LIST nbl = nbls; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        n++;
    HLT_CHECK(n == count, "protocol got %zu NBLs, NumberOfNetBufferLists says %lu", n,
              (unsigned long)count);
    atomic_fetch_add(&p->delivered, n);
    if (!(flags & NDIS_RECEIVE_FLAGS_RESOURCES))
        emu_protocol_return(
            p->ad, nbls,
            (flags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

static void probe_pr_send_complete(void *ctx, PNET_BUFFER_LIST nbls, ULONG flags)
{
    struct hlt_probe *p = ctx;
    size_t n = 0;
    (void)flags;
    for (PNET_BUFFER_LIST nbl = nbls; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        n++;
    atomic_fetch_add(&p->completed, n);
}

static const struct emu_edge_ops probe_ops = {
    .miniport_send = probe_mp_send,
    .miniport_return = probe_mp_return,
    .miniport_pause = probe_mp_pause,
    .miniport_restart = probe_mp_restart,
    .miniport_oid = probe_mp_oid,
    .protocol_receive = probe_pr_receive,
    .protocol_send_complete = probe_pr_send_complete,
    .protocol_pause = probe_pr_pause,
    .protocol_restart = probe_pr_restart,
};

struct emu_driver *hlt_boot(unsigned ncpus, const char *driver_path, const char *stack_spec,
                            const char *strategy)
{
    char err[256];
    struct emu_driver *drv;

    emu_kernel_init(ncpus);
    /* HLT_STRATEGY runs any test against another strategy (docs/strategies.md). */
    if (strategy == NULL)
        strategy = getenv("HLT_STRATEGY");
    if (strategy != NULL)
        emu_param_set("hotlwf", "Strategy", strategy);
    if (!emu_stack_set_spec(stack_spec, err, sizeof(err))) {
        fprintf(stderr, "stack spec: %s\n", err);
        exit(2);
    }
    drv = emu_driver_load(driver_path, err, sizeof(err));
    if (drv == NULL) {
        fprintf(stderr, "load %s: %s\n", driver_path, err);
        exit(2);
    }
    return drv;
}

void hlt_shutdown(struct emu_driver *drv)
{
    NTSTATUS st = emu_driver_unload(drv);
    HLT_CHECK(NT_SUCCESS(st), "unload: 0x%08x", (unsigned)st);
    HLT_CHECK(emu_violation_count() == 0, "%zu verifier findings", emu_violation_count());
    if (emu_violation_count() != 0)
        emu_violations_print(stderr, false);
    emu_kernel_shutdown();
}

static NDIS_HANDLE probe_pool(NDIS_HANDLE owner)
{
    NET_BUFFER_LIST_POOL_PARAMETERS pp;
    memset(&pp, 0, sizeof(pp));
    pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    pp.fAllocateNetBuffer = TRUE;
    pp.PoolTag = 'bPtH';
    return NdisAllocateNetBufferListPool(owner, &pp);
}

struct hlt_probe *hlt_probe_create(unsigned index)
{
    struct hlt_probe *p = calloc(1, sizeof(*p));
    struct emu_adapter_info info;

    memset(&info, 0, sizeof(info));
    info.index = index;
    snprintf(info.name, sizeof(info.name), "\\DEVICE\\{00000000-0000-0000-0000-%012u}", index);
    snprintf(info.alias, sizeof(info.alias), "probe%u", index);
    info.mac[0] = 0x02;
    info.mac[5] = (uint8_t)index;
    info.ifindex = 100 + index;
    info.first_cpu = 0;
    info.rx_queues = 1;
    atomic_store(&p->rx.paused, 1); /* created Paused: emu_adapter_start restarts it */
    atomic_store(&p->tx.paused, 1);
    p->ad = emu_adapter_create(&info, &probe_ops, p, p);
    if (p->ad == NULL) {
        fprintf(stderr, "emu_adapter_create failed\n");
        exit(2);
    }
    p->mp_pool = probe_pool(emu_adapter_miniport_handle(p->ad));
    p->pr_pool = probe_pool(emu_adapter_protocol_handle(p->ad));
    if (emu_adapter_start(p->ad) != NDIS_STATUS_SUCCESS) {
        fprintf(stderr, "emu_adapter_start failed\n");
        exit(2);
    }
    return p;
}

void hlt_probe_destroy(struct hlt_probe *p)
{
    emu_adapter_destroy(p->ad);
    NdisFreeNetBufferListPool(p->mp_pool);
    NdisFreeNetBufferListPool(p->pr_pool);
    free(p);
}

struct emu_adapter *hlt_probe_adapter(struct hlt_probe *p)
{
    return p->ad;
}

void hlt_probe_set_shared(struct hlt_probe *p)
{
    p->shared = true;
}

void hlt_probe_counts(struct hlt_probe *p, struct hlt_probe_counts *c)
{
    c->rx_skipped = atomic_load(&p->rx_skipped);
    c->delivered = atomic_load(&p->delivered);
    c->returned = atomic_load(&p->returned);
    c->tx_skipped = atomic_load(&p->tx_skipped);
    c->reached = atomic_load(&p->reached);
    c->completed = atomic_load(&p->completed);
}

/* One NBL over a private copy of the packet, in MDLs of split bytes. */
static PNET_BUFFER_LIST make_nbl(NDIS_HANDLE owner, NDIS_HANDLE pool, const struct hlt_packet *pkt,
                                 unsigned split, uint8_t **copy)
{
    uint32_t len = pkt->len ? pkt->len : 1;
    uint8_t *buf = malloc(len);
    PMDL first = NULL, *link = &first;

    memcpy(buf, pkt->data, pkt->len);
    for (uint32_t off = 0; off < len;) {
        uint32_t take = split && len - off > split ? split : len - off;
        PMDL m = NdisAllocateMdl(owner, buf + off, take);
        *link = m;
        link = &m->Next;
        off += take;
    }
    *copy = buf;
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, first, 0, pkt->len);
    /* The originator stamps its handle: NDIS routes the NBL home by it. */
    nbl->SourceHandle = owner;
    return nbl;
}

static void free_nbl(PNET_BUFFER_LIST nbl, uint8_t *copy)
{
    PMDL m = NET_BUFFER_FIRST_MDL(NET_BUFFER_LIST_FIRST_NB(nbl));
    NdisFreeNetBufferList(nbl);
    while (m != NULL) {
        PMDL next = m->Next;
        NdisFreeMdl(m);
        m = next;
    }
    free(copy);
}

static size_t probe_run(struct hlt_probe *p, const struct hlt_packet *pkts, size_t n,
                        unsigned batch, enum hlt_mode mode, unsigned split, bool send)
{
    NDIS_HANDLE owner =
        send ? emu_adapter_protocol_handle(p->ad) : emu_adapter_miniport_handle(p->ad);
    NDIS_HANDLE pool = send ? p->pr_pool : p->mp_pool;
    size_t before = send ? atomic_load(&p->reached) : atomic_load(&p->delivered);
    size_t back_before = send ? atomic_load(&p->completed) : atomic_load(&p->returned);
    PNET_BUFFER_LIST *nbls = calloc(batch, sizeof(*nbls));
    uint8_t **copies = calloc(batch, sizeof(*copies));
    struct probe_gate *gate = send ? &p->tx : &p->rx;
    size_t skipped = 0;

    for (size_t i = 0; i < n; i += batch) {
        unsigned k = (unsigned)(n - i < batch ? n - i : batch);
        PNET_BUFFER_LIST head = NULL;
        KIRQL old = PASSIVE_LEVEL;
        ULONG flags = 0;

        atomic_fetch_add(&gate->busy, 1);
        if (atomic_load(&gate->paused)) {
            atomic_fetch_sub(&gate->busy, 1);
            skipped += k;
            continue;
        }

        for (unsigned j = k; j-- > 0;) {
            nbls[j] = make_nbl(owner, pool, &pkts[i + j], split, &copies[j]);
            NET_BUFFER_LIST_NEXT_NBL(nbls[j]) = head;
            head = nbls[j];
        }
        if (mode != HLT_PASSIVE) {
            KeRaiseIrql(DISPATCH_LEVEL, &old);
            flags |= send ? NDIS_SEND_FLAGS_DISPATCH_LEVEL : NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL;
        }
        if (!send && mode == HLT_RESOURCES)
            flags |= NDIS_RECEIVE_FLAGS_RESOURCES;
        if (send)
            emu_protocol_send(p->ad, head, NDIS_DEFAULT_PORT_NUMBER, flags);
        else
            emu_miniport_indicate_receive(p->ad, head, NDIS_DEFAULT_PORT_NUMBER, k, flags);
        if (mode != HLT_PASSIVE)
            KeLowerIrql(old);

        if (!send && mode == HLT_RESOURCES) {
            /* The chain is ours again, and must be exactly as we built it. */
            PNET_BUFFER_LIST nbl = head;
            for (unsigned j = 0; j < k; j++) {
                HLT_CHECK(nbl == nbls[j], "RESOURCES chain not restored at %u", j);
                if (nbl == NULL)
                    break;
                nbl = NET_BUFFER_LIST_NEXT_NBL(nbl);
            }
            HLT_CHECK(nbl == NULL, "RESOURCES chain longer than indicated");
            atomic_fetch_add(&p->returned, k);
        }
        for (unsigned j = 0; j < k; j++)
            free_nbl(nbls[j], copies[j]);
        atomic_fetch_sub(&gate->busy, 1);
    }
    free(nbls);
    free(copies);
    atomic_fetch_add(send ? &p->tx_skipped : &p->rx_skipped, skipped);

    /* Exact only when no other thread drives the same probe (the race test checks totals). */
    if (!p->shared) {
        size_t back = (send ? atomic_load(&p->completed) : atomic_load(&p->returned)) - back_before;
        HLT_CHECK(back == n - skipped, "%zu of %zu NBLs came back", back, n - skipped);
    }
    return (send ? atomic_load(&p->reached) : atomic_load(&p->delivered)) - before;
}

size_t hlt_probe_receive(struct hlt_probe *p, const struct hlt_packet *pkts, size_t n,
                         unsigned batch, enum hlt_mode mode, unsigned split)
{
    return probe_run(p, pkts, n, batch, mode, split, false);
}

size_t hlt_probe_send(struct hlt_probe *p, const struct hlt_packet *pkts, size_t n, unsigned batch,
                      enum hlt_mode mode, unsigned split)
{
    return probe_run(p, pkts, n, batch, mode, split, true);
}

bool hlt_capture_load(const char *path, struct hlt_capture *out)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    struct pcap_pkthdr *h;
    const u_char *data;
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    if (pc == NULL) {
        fprintf(stderr, "%s: %s\n", path, err);
        return false;
    }
    while (pcap_next_ex(pc, &h, &data) == 1) {
        if (out->count == cap) {
            cap = cap ? cap * 2 : 256;
            out->pkts = realloc(out->pkts, cap * sizeof(*out->pkts));
        }
        uint8_t *copy = malloc(h->caplen ? h->caplen : 1);
        memcpy(copy, data, h->caplen);
        out->pkts[out->count].data = copy;
        out->pkts[out->count].len = h->caplen;
        out->count++;
    }
    pcap_close(pc);
    return true;
}

void hlt_capture_free(struct hlt_capture *c)
{
    for (size_t i = 0; i < c->count; i++)
        free((void *)c->pkts[i].data);
    free(c->pkts);
    memset(c, 0, sizeof(*c));
}

long hlt_tcpdump_count(const char *path, const char *expr)
{
    char cmd[4096];
    char line[256];
    long n = -1;
    FILE *f;

    /*
     * --count prints "N packets": one packet can take several lines of
     * tcpdump's normal output. Single quotes: the test expressions have none.
     */
    snprintf(cmd, sizeof(cmd), "tcpdump -r '%s' --count '%s' 2>/dev/null", path, expr);
    f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, " packet") != NULL)
            n = strtol(line, NULL, 10);
    return pclose(f) == 0 ? n : -1;
}

uint8_t *hlt_blob(const struct hlt_rule *rules, unsigned n, uint8_t default_action, size_t *len)
{
    struct hl_rule_spec *specs = calloc(n ? n : 1, sizeof(*specs));
    struct bpf_program *progs = calloc(n ? n : 1, sizeof(*progs));
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    uint8_t *blob;
    size_t need = 0;

    for (unsigned i = 0; i < n; i++) {
        if (pcap_compile(dead, &progs[i], rules[i].expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            fprintf(stderr, "pcap_compile(%s): %s\n", rules[i].expr, pcap_geterr(dead));
            exit(2);
        }
        specs[i].action = rules[i].action;
        specs[i].direction = rules[i].direction;
        specs[i].selector = rules[i].selector;
        specs[i].insns = (const struct hl_bpf_insn *)progs[i].bf_insns;
        specs[i].ninsns = progs[i].bf_len;
    }
    if (hl_blob_encode(specs, n, default_action, NULL, 0, &need) != HL_E_BUFFER_TOO_SMALL) {
        fprintf(stderr, "hl_blob_encode: cannot size\n");
        exit(2);
    }
    blob = malloc(need);
    if (hl_blob_encode(specs, n, default_action, blob, need, len) != HL_OK) {
        fprintf(stderr, "hl_blob_encode failed\n");
        exit(2);
    }
    for (unsigned i = 0; i < n; i++)
        pcap_freecode(&progs[i]);
    pcap_close(dead);
    free(progs);
    free(specs);
    return blob;
}

void hlt_storm_blobs(uint8_t **a, size_t *alen, uint8_t **b, size_t *blen)
{
    static const struct hlt_rule ra[] = {{HL_ACTION_DROP, HL_DIR_IN, "udp", {0}},
                                         {HL_ACTION_DROP, HL_DIR_OUT, "tcp", {0}}};
    static const struct hlt_rule rb[] = {{HL_ACTION_DROP, HL_DIR_BOTH, "icmp or icmp6", {0}},
                                         {HL_ACTION_DROP, HL_DIR_IN, "arp", {0}},
                                         {HL_ACTION_PASS, HL_DIR_IN, "ip6", {0}}};

    *a = hlt_blob(ra, 2, HL_ACTION_PASS, alen);
    *b = hlt_blob(rb, 3, HL_ACTION_PASS, blen);
}

NTSTATUS hlt_ioctl(ULONG code, const void *in, ULONG in_len, void *out, ULONG out_len, ULONG *info)
{
    ULONG dummy;
    return emu_device_ioctl("\\\\.\\hotlwf", code, in, in_len, out, out_len, info ? info : &dummy);
}

NTSTATUS hlt_set_config(const void *blob, size_t len, struct hl_set_config_result *r)
{
    ULONG info = 0;
    NTSTATUS st;

    memset(r, 0xAA, sizeof(*r));
    st = hlt_ioctl(HL_IOCTL_SET_CONFIG, blob, (ULONG)len, r, sizeof(*r), &info);
    if (NT_SUCCESS(st))
        HLT_CHECK(info == sizeof(*r), "SET_CONFIG Information %lu", (unsigned long)info);
    return st;
}

uint8_t *hlt_get_config(size_t *len)
{
    struct hl_blob_header h;
    ULONG info = 0;
    NTSTATUS st = hlt_ioctl(HL_IOCTL_GET_CONFIG, NULL, 0, &h, sizeof(h), &info);
    uint8_t *buf;

    HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS || st == (NTSTATUS)HL_STATUS_BUFFER_OVERFLOW,
              "GET_CONFIG(header) 0x%08x", (unsigned)st);
    buf = malloc(h.total_size);
    st = hlt_ioctl(HL_IOCTL_GET_CONFIG, NULL, 0, buf, h.total_size, &info);
    HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS && info == h.total_size,
              "GET_CONFIG 0x%08x info %lu", (unsigned)st, (unsigned long)info);
    *len = info;
    return buf;
}

uint8_t *hlt_get_stats(size_t *len)
{
    struct hl_stats_header h;
    ULONG info = 0;
    NTSTATUS st = hlt_ioctl(HL_IOCTL_GET_STATS, NULL, 0, &h, sizeof(h), &info);
    uint8_t *buf;

    HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS || st == (NTSTATUS)HL_STATUS_BUFFER_OVERFLOW,
              "GET_STATS(header) 0x%08x", (unsigned)st);
    buf = malloc(h.size_needed);
    st = hlt_ioctl(HL_IOCTL_GET_STATS, NULL, 0, buf, h.size_needed, &info);
    HLT_CHECK(st == (NTSTATUS)HL_STATUS_SUCCESS && info == h.size_needed,
              "GET_STATS 0x%08x info %lu", (unsigned)st, (unsigned long)info);
    *len = info;
    return buf;
}

void hlt_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct hlt_churn {
    pthread_t thread;
    atomic_int stop;
    struct emu_host *const *hosts;
};

static void *churn_main(void *arg)
{
    struct hlt_churn *c = arg;
    unsigned i = 0;
    while (!atomic_load(&c->stop)) {
        struct emu_adapter *ad = emu_host_adapter(c->hosts[i % 2]);
        HLT_CHECK(emu_adapter_pause(ad) == NDIS_STATUS_SUCCESS, "pause %u", i % 2);
        hlt_sleep_ms(1);
        HLT_CHECK(emu_adapter_restart(ad) == NDIS_STATUS_SUCCESS, "restart %u", i % 2);
        if (i % 4 == 3) {
            ad = emu_host_adapter(c->hosts[2]);
            HLT_CHECK(emu_adapter_detach_module(ad, 0) == NDIS_STATUS_SUCCESS, "detach");
            hlt_sleep_ms(1);
            HLT_CHECK(emu_adapter_attach_module(ad, 0) == NDIS_STATUS_SUCCESS, "attach");
        }
        hlt_sleep_ms(3);
        i++;
    }
    return NULL;
}

struct hlt_churn *hlt_churn_start(struct emu_host *const *hosts)
{
    struct hlt_churn *c = calloc(1, sizeof(*c));
    HLT_CHECK(c != NULL, "churn: out of memory");
    c->hosts = hosts;
    HLT_CHECK(pthread_create(&c->thread, NULL, churn_main, c) == 0, "churn thread");
    return c;
}

void hlt_churn_stop(struct hlt_churn *c)
{
    atomic_store(&c->stop, 1);
    pthread_join(c->thread, NULL);
    free(c);
}

bool hlt_storm_hosts_start(struct emu_host **hosts, unsigned n, unsigned ncpus,
                           const struct emu_traffic *traffic, uint64_t rx_pps, unsigned seed)
{
    char err[256];

    for (unsigned i = 0; i < n; i++) {
        struct emu_host_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.traffic = traffic;
        emu_split_parse("random", &cfg.split);
        cfg.rx_pps = rx_pps;
        cfg.tx_pps = rx_pps / 2;
        cfg.tx = true;
        cfg.batch = 16;
        cfg.cpus = ncpus;
        cfg.first_cpu = i;
        cfg.rx_queues = 2;
        cfg.seed = seed + i;
        cfg.recycle = false; /* a use-after-return is then a use-after-free: ASan sees it */
        hosts[i] = emu_host_create(i, &cfg, err, sizeof(err));
        if (hosts[i] == NULL) {
            fprintf(stderr, "host %u: %s\n", i, err);
            return false;
        }
        HLT_CHECK(emu_adapter_start(emu_host_adapter(hosts[i])) == NDIS_STATUS_SUCCESS, "start %u",
                  i);
        emu_host_start_traffic(hosts[i]);
    }
    return true;
}

static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return false;
    v = strtoull(s, &end, 10);
    if (*end != '\0' || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

void hlt_storm_setup(int argc, char **argv, unsigned ncpus, const char *stack,
                     struct hlt_storm_setup *out)
{
    uint64_t sets = 300, rx_pps = 100000;
    char err[256];

    if (argc < 3 || argc > 5 || (argc > 3 && !parse_count(argv[3], 1000000, &sets)) ||
        (argc > 4 && !parse_count(argv[4], 100000000, &rx_pps))) {
        fprintf(stderr, "usage: %s DRIVER.so CAPTURE.pcap [SETS [RX_PPS]]  (positive numbers)\n",
                argv[0]);
        exit(2);
    }
    out->sets = (unsigned)sets;
    out->rx_pps = rx_pps;
    out->drv = hlt_boot(ncpus, argv[1], stack, NULL);
    out->traffic = emu_traffic_load_pcap(argv[2], err, sizeof(err));
    if (out->traffic == NULL) {
        fprintf(stderr, "%s: %s\n", argv[2], err);
        exit(2);
    }
}

void hlt_storm_host_check(struct emu_host *h, unsigned i, struct emu_host_figures *f)
{
    emu_host_figures(h, f);
    printf("adapter %u: rx %llu delivered %llu dropped %llu | tx %llu reached %llu\n", i,
           (unsigned long long)f->v[EMU_RX_ORIGINATED], (unsigned long long)f->v[EMU_RX_DELIVERED],
           (unsigned long long)f->v[EMU_RX_DROPPED_BY_FILTER], (unsigned long long)f->v[EMU_TX_SENT],
           (unsigned long long)f->v[EMU_TX_REACHED_MINIPORT]);
    HLT_CHECK(f->v[EMU_RX_ORIGINATED] > 0, "adapter %u: no traffic", i);
    HLT_CHECK(f->v[EMU_RX_RETURNED] == f->v[EMU_RX_ORIGINATED], "adapter %u: %llu of %llu back", i,
              (unsigned long long)f->v[EMU_RX_RETURNED],
              (unsigned long long)f->v[EMU_RX_ORIGINATED]);
    HLT_CHECK(f->v[EMU_RX_DELIVERED] + f->v[EMU_RX_DROPPED_BY_FILTER] == f->v[EMU_RX_ORIGINATED],
              "adapter %u: receives lost", i);
    HLT_CHECK(f->v[EMU_RX_CORRUPTED] == 0 && f->v[EMU_TX_CORRUPTED] == 0, "adapter %u: corrupted",
              i);
    HLT_CHECK(f->v[EMU_TX_COMPLETED] == f->v[EMU_TX_SENT], "adapter %u: sends lost", i);
}
