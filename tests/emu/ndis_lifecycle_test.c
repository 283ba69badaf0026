/*
 * The lifecycle as NDIS runs it: the names NdisFRegisterFilterDriver
 * checks, FilterSetOptions inside the registration, the attach parameters,
 * the restart attributes a module may change for the modules above it, and
 * no datapath call into a module before its restart completed.
 */
#include "ndis_test_util.h"

#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

#define GUID_A L"{0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f1}"
#define GUID_B L"{1f2e3d4c-5b6a-7988-97a6-b5c4d3e2f102}"

struct lc_module {
    NDIS_HANDLE h;
    NDIS_STRING guid_name, base_name, instance_name;
    WCHAR guid_w[128], base_w[64], instance_w[64];
    NET_IFINDEX if_index, lower_if_index;
    ULONG mtu, lookahead, attributes; /* as its last FilterRestart saw them */
    NDIS_OID first_oid;
    bool pend_restart;
    _Atomic long rx;
};

static struct lc_module *g_last;
static int g_set_options_calls;
static NDIS_HANDLE g_set_options_context;
static NDIS_STATUS g_set_options_status;
static bool g_bypass_receive_by_default;

static void copy_string(NDIS_STRING *to, WCHAR *buf, size_t cap, PNDIS_STRING from)
{
    size_t n = from && from->Buffer ? from->Length / sizeof(WCHAR) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n != 0)
        memcpy(buf, from->Buffer, n * sizeof(WCHAR));
    buf[n] = 0;
    to->Buffer = buf;
    to->Length = (USHORT)(n * sizeof(WCHAR));
    to->MaximumLength = (USHORT)(cap * sizeof(WCHAR));
}

static NDIS_STATUS lc_attach(NDIS_HANDLE h, NDIS_HANDLE dctx, PNDIS_FILTER_ATTACH_PARAMETERS ap)
{
    (void)dctx;
    struct lc_module *m = calloc(1, sizeof(*m));
    m->h = h;
    copy_string(&m->guid_name, m->guid_w, 128, ap->FilterModuleGuidName);
    copy_string(&m->base_name, m->base_w, 64, ap->BaseMiniportName);
    copy_string(&m->instance_name, m->instance_w, 64, ap->BaseMiniportInstanceName);
    m->if_index = ap->IfIndex;
    m->lower_if_index = ap->LowerIfIndex;
    NDIS_FILTER_ATTRIBUTES fa;
    memset(&fa, 0, sizeof(fa));
    fa.Header.Type = NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES;
    fa.Header.Revision = NDIS_FILTER_ATTRIBUTES_REVISION_1;
    fa.Header.Size = NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1;
    NdisFSetAttributes(h, m, &fa);
    g_last = m;
    return NDIS_STATUS_SUCCESS;
}

static void lc_detach(NDIS_HANDLE ctx)
{
    free(ctx);
}

/* The lower module shrinks the lookahead and appends an element of its own,
   as the WDK allows; the upper one must see both. */
static NDIS_STATUS lc_restart(NDIS_HANDLE ctx, PNDIS_FILTER_RESTART_PARAMETERS rp)
{
    struct lc_module *m = ctx;
    m->attributes = 0;
    PNDIS_RESTART_ATTRIBUTES ra = rp->RestartAttributes;
    if (ra != NULL) {
        PNDIS_RESTART_GENERAL_ATTRIBUTES g = (PNDIS_RESTART_GENERAL_ATTRIBUTES)ra->Data;
        m->first_oid = ra->Oid;
        if (g->Header.Type == NDIS_OBJECT_TYPE_RESTART_GENERAL_ATTRIBUTES &&
            g->Header.Revision == NDIS_RESTART_GENERAL_ATTRIBUTES_REVISION_2 &&
            g->Header.Size == NDIS_SIZEOF_RESTART_GENERAL_ATTRIBUTES_REVISION_2) {
            m->mtu = g->MtuSize;
            m->lookahead = g->LookaheadSize;
        }
        for (; ra != NULL; ra = ra->Next)
            m->attributes++;
        if (m->lookahead > 128) {
            g->LookaheadSize = 128;
            PNDIS_RESTART_ATTRIBUTES tail = rp->RestartAttributes;
            while (tail->Next != NULL)
                tail = tail->Next;
            size_t size = offsetof(NDIS_RESTART_ATTRIBUTES, Data) + sizeof(ULONG);
            PNDIS_RESTART_ATTRIBUTES mine =
                NdisAllocateMemoryWithTagPriority(m->h, (UINT)size, 'tsEL', NormalPoolPriority);
            memset(mine, 0, size);
            mine->Oid = OID_GEN_CURRENT_LOOKAHEAD;
            mine->DataLength = sizeof(ULONG);
            tail->Next = mine;
        }
    }
    return m->pend_restart ? NDIS_STATUS_PENDING : NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS lc_pause(NDIS_HANDLE ctx, PNDIS_FILTER_PAUSE_PARAMETERS pp)
{
    (void)ctx, (void)pp;
    return NDIS_STATUS_SUCCESS;
}

static void lc_receive(NDIS_HANDLE ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG n,
                       ULONG flags)
{
    struct lc_module *m = ctx;
    m->rx += n;
    NdisFIndicateReceiveNetBufferLists(m->h, nbls, port, n, flags);
}

static NDIS_STATUS lc_set_options(NDIS_HANDLE driver, NDIS_HANDLE context)
{
    g_set_options_calls++;
    g_set_options_context = context;
    if (g_bypass_receive_by_default) {
        NDIS_FILTER_PARTIAL_CHARACTERISTICS pc;
        memset(&pc, 0, sizeof(pc));
        pc.Header.Type = NDIS_OBJECT_TYPE_FILTER_PARTIAL_CHARACTERISTICS;
        pc.Header.Revision = NDIS_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1;
        pc.Header.Size = NDIS_SIZEOF_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1;
        CHECK(NdisSetOptionalHandlers(driver, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&pc) ==
              NDIS_STATUS_SUCCESS);
    }
    return g_set_options_status;
}

struct lc_driver {
    DRIVER_OBJECT obj;
    NDIS_HANDLE handle;
};

static NDIS_STATUS lc_register(struct lc_driver *d, PCWSTR service, PCWSTR friendly,
                               PCWSTR unique)
{
    memset(d, 0, sizeof(*d));
    emu_test_register_inline_driver(&d->obj);
    NDIS_FILTER_DRIVER_CHARACTERISTICS ch;
    memset(&ch, 0, sizeof(ch));
    ch.Header.Type = NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS;
    ch.Header.Revision = NDIS_FILTER_CHARACTERISTICS_REVISION_1;
    ch.Header.Size = NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1;
    ch.MajorNdisVersion = 6;
    ch.MinorNdisVersion = 30;
    RtlInitUnicodeString(&ch.ServiceName, service);
    RtlInitUnicodeString(&ch.FriendlyName, friendly);
    RtlInitUnicodeString(&ch.UniqueName, unique);
    ch.SetOptionsHandler = lc_set_options;
    ch.AttachHandler = lc_attach;
    ch.DetachHandler = lc_detach;
    ch.RestartHandler = lc_restart;
    ch.PauseHandler = lc_pause;
    ch.ReceiveNetBufferListsHandler = lc_receive;
    NDIS_STATUS st = NdisFRegisterFilterDriver(&d->obj, (NDIS_HANDLE)d, &ch, &d->handle);
    emu_work_drain();
    return st;
}

static bool ws_eq(const NDIS_STRING *s, const char *want)
{
    size_t n = s->Length / sizeof(WCHAR);
    if (n != strlen(want))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s->Buffer[i] != (WCHAR)want[i])
            return false;
    return true;
}

static struct lc_driver la, lb;

static void test_names(void)
{
    struct lc_driver x;
    g_set_options_calls = 0;
    CHECK(lc_register(&x, L"lx", L"X", L"lx") == NDIS_STATUS_BAD_CHARACTERISTICS);
    CHECK(lc_register(&x, L"lx", L"X", L"") == NDIS_STATUS_BAD_CHARACTERISTICS);
    CHECK(lc_register(&x, L"lx", L"X", L"{0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f}") ==
          NDIS_STATUS_BAD_CHARACTERISTICS);
    CHECK(lc_register(&x, L"lx", L"X", L"0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f1") ==
          NDIS_STATUS_BAD_CHARACTERISTICS);
    CHECK(lc_register(&x, L"lx", L"", GUID_A) == NDIS_STATUS_BAD_CHARACTERISTICS);
    CHECK(lc_register(&x, L"", L"X", GUID_A) == NDIS_STATUS_BAD_CHARACTERISTICS);
    CHECK(g_set_options_calls == 0);
    /* FilterSetOptions' failure is the registration's. */
    g_set_options_status = NDIS_STATUS_RESOURCES;
    CHECK(lc_register(&x, L"lx", L"X", GUID_A) == NDIS_STATUS_RESOURCES);
    CHECK(g_set_options_calls == 1 && g_set_options_context == (NDIS_HANDLE)&x);
    g_set_options_status = NDIS_STATUS_SUCCESS;

    g_set_options_calls = 0;
    CHECK(lc_register(&la, L"la", L"Lifecycle A", GUID_A) == NDIS_STATUS_SUCCESS);
    CHECK(g_set_options_calls == 1 && g_set_options_context == (NDIS_HANDLE)&la);
    /* The same UniqueName twice. */
    CHECK(lc_register(&x, L"lx", L"X", GUID_A) == NDIS_STATUS_FAILURE);
    g_bypass_receive_by_default = true;
    CHECK(lc_register(&lb, L"lb", L"Lifecycle B", GUID_B) == NDIS_STATUS_SUCCESS);
    g_bypass_receive_by_default = false;
    CHECK(emu_violation_count() == 0);
}

static void test_attach_and_restart_attributes(void)
{
    char err[128];
    CHECK(emu_stack_set_spec("la,lb,la", err, sizeof(err)));
    struct t_host *h = t_host_new("life0");
    CHECK(emu_adapter_start(h->ad) == NDIS_STATUS_SUCCESS);
    struct lc_module *m0 = ((struct emu_module *)atomic_load(&h->ad->slots[0]))->ctx;
    struct emu_module *e1 = atomic_load(&h->ad->slots[1]);
    struct lc_module *m1 = e1->ctx, *m2 = ((struct emu_module *)atomic_load(&h->ad->slots[2]))->ctx;
    CHECK(ws_eq(&m0->guid_name, "{life0}-{0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f1}-0000"));
    CHECK(ws_eq(&m2->guid_name, "{life0}-{0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f1}-0001"));
    CHECK(ws_eq(&m1->guid_name, "{life0}-{1f2e3d4c-5b6a-7988-97a6-b5c4d3e2f102}-0000"));
    CHECK(ws_eq(&m0->base_name, "\\DEVICE\\{life0}") && ws_eq(&m0->instance_name, "life0"));
    CHECK(m0->lower_if_index == 7 && m1->lower_if_index == m0->if_index &&
          m2->lower_if_index == m1->if_index && m0->if_index != m1->if_index);
    /* The driver's default from FilterSetOptions: lb bypasses receives. */
    CHECK(atomic_load(&e1->receive) == NULL);

    CHECK(m0->first_oid == OID_GEN_MINIPORT_RESTART_ATTRIBUTES && m0->mtu == 1500);
    CHECK(m0->lookahead == 1500 && m0->attributes == 1);
    CHECK(m1->lookahead == 128 && m1->attributes == 2); /* what m0 changed and added */
    CHECK(m2->lookahead == 128 && m2->attributes == 2);
    /* Every restart starts from the miniport's attributes again. */
    CHECK(emu_adapter_pause(h->ad) == NDIS_STATUS_SUCCESS);
    CHECK(emu_adapter_restart(h->ad) == NDIS_STATUS_SUCCESS);
    CHECK(m0->lookahead == 1500 && m0->attributes == 1 && m2->attributes == 2);
    CHECK(emu_violation_count() == 0);
    t_host_free(h);
}

struct completer {
    NDIS_HANDLE h;
    struct t_host *host;
    long rx_while_restarting;
};

/* Indicates while the top module's restart is pending, then completes it. */
static void *indicate_then_complete(void *arg)
{
    struct completer *c = arg;
    struct emu_module *em = c->h;
    while (atomic_load(&em->state) != EMU_MS_RESTARTING)
        usleep(1000);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    emu_miniport_indicate_receive(
        c->host->ad, t_chain(c->host, emu_adapter_miniport_handle(c->host->ad), 4), 0, 4,
        NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
    KeLowerIrql(old);
    c->rx_while_restarting = ((struct lc_module *)em->ctx)->rx;
    NdisFRestartComplete(c->h, NDIS_STATUS_SUCCESS);
    return NULL;
}

static void test_restarting_gets_no_datapath_call(void)
{
    char err[128];
    CHECK(emu_stack_set_spec("la", err, sizeof(err)));
    struct t_host *h = t_host_new("life1");
    CHECK(emu_adapter_start(h->ad) == NDIS_STATUS_SUCCESS);
    CHECK(emu_adapter_pause(h->ad) == NDIS_STATUS_SUCCESS);
    struct emu_module *em = atomic_load(&h->ad->slots[0]);
    struct lc_module *m = em->ctx;
    long before = m->rx;
    m->pend_restart = true;
    struct completer c = {em, h, -1};
    pthread_t th;
    pthread_create(&th, NULL, indicate_then_complete, &c);
    CHECK(emu_adapter_restart(h->ad) == NDIS_STATUS_SUCCESS);
    pthread_join(th, NULL);
    m->pend_restart = false;
    CHECK(c.rx_while_restarting == before); /* NDIS answered for it */
    CHECK(h->returned_to_miniport >= 4);
    long returned = h->returned_to_miniport;
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    emu_miniport_indicate_receive(h->ad, t_chain(h, emu_adapter_miniport_handle(h->ad), 2), 0, 2,
                                  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
    KeLowerIrql(old);
    CHECK(m->rx == before + 2 && h->returned_to_miniport == returned + 2);
    CHECK(emu_violation_count() == 0);
    t_host_free(h);
}

int main(void)
{
    emu_kernel_init(2);
    test_names();
    test_attach_and_restart_attributes();
    test_restarting_gets_no_datapath_call();
    NdisFDeregisterFilterDriver(la.handle);
    NdisFDeregisterFilterDriver(lb.handle);
    emu_kernel_shutdown();
    if (t_failures)
        fprintf(stderr, "ndis_lifecycle_test: %d failure(s)\n", t_failures);
    return t_failures != 0;
}
