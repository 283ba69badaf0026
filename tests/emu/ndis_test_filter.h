/*
 * An in-test filter driver, registered from the test binary under any name
 * (one DRIVER_OBJECT per name). Knobs switch its behaviour per test; every
 * callback logs "<callback>:<name>" so tests can check the order NDIS used.
 */
#ifndef NDISEMU_TEST_NDIS_FILTER_H
#define NDISEMU_TEST_NDIS_FILTER_H

#include "ndis_test_util.h"

struct tf_knobs {
    bool pend_pause, pend_restart;
    bool fail_restart;
    bool skip_set_attributes;
    bool bypass_receive; /* FilterSetModuleOptions removes the receive/return handlers */
    bool hold_receives;  /* keeps received NBLs instead of passing them up */
    bool return_twice;   /* returns each received NBL twice */
    bool complete_pause_twice;
    /* FilterRestart makes the miniport indicate (as another CPU could), while
       the modules above are still Paused. */
    struct t_host *indicate_in_restart;
};

struct tf_driver {
    DRIVER_OBJECT obj;
    NDIS_HANDLE handle;
    char name[32];
    WCHAR wname[32];
    WCHAR wunique[40]; /* UniqueName: a GUID made from the name */
    struct tf_knobs k;
};

struct tf_module {
    NDIS_HANDLE h;
    struct tf_driver *d;
    PNET_BUFFER_LIST held;
    _Atomic long rx;
    _Atomic bool running; /* the filter's own view, as a real LWF keeps it */
};

static struct tf_module *tf_last_module;

static inline void tf_log(const char *what, struct tf_driver *d)
{
    char b[64];
    snprintf(b, sizeof(b), "%s:%s", what, d->name);
    t_logf(b);
}

static NDIS_STATUS tf_attach(NDIS_HANDLE h, NDIS_HANDLE drvctx, PNDIS_FILTER_ATTACH_PARAMETERS ap)
{
    struct tf_driver *d = drvctx;
    struct tf_module *m = calloc(1, sizeof(*m));
    m->h = h;
    m->d = d;
    tf_log("attach", d);
    CHECK(ap->Header.Type == NDIS_OBJECT_TYPE_FILTER_ATTACH_PARAMETERS);
    CHECK(ap->MacAddressLength == 6 && ap->BaseMiniportIfIndex == 7);
    CHECK(ap->BaseMiniportInstanceName != NULL && ap->BaseMiniportInstanceName->Length > 0);
    if (!d->k.skip_set_attributes) {
        NDIS_FILTER_ATTRIBUTES fa = {{NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES,
                                      NDIS_FILTER_ATTRIBUTES_REVISION_1,
                                      NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1},
                                     0};
        CHECK(NdisFSetAttributes(h, m, &fa) == NDIS_STATUS_SUCCESS);
    } else {
        /* The broken case under test: NDIS will never hand this context back. */
        free(m);
        return NDIS_STATUS_SUCCESS;
    }
    tf_last_module = m;
    return NDIS_STATUS_SUCCESS;
}

static void tf_detach(NDIS_HANDLE ctx)
{
    struct tf_module *m = ctx;
    if (m == NULL)
        return;
    tf_log("detach", m->d);
    if (tf_last_module == m)
        tf_last_module = NULL;
    free(m);
}

static NDIS_STATUS tf_pause(NDIS_HANDLE ctx, PNDIS_FILTER_PAUSE_PARAMETERS pp)
{
    struct tf_module *m = ctx;
    (void)pp;
    atomic_store(&m->running, false);
    tf_log("pause", m->d);
    if (m->d->k.pend_pause)
        return NDIS_STATUS_PENDING;
    if (m->d->k.complete_pause_twice)
        NdisFPauseComplete(m->h);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS tf_restart(NDIS_HANDLE ctx, PNDIS_FILTER_RESTART_PARAMETERS rp)
{
    struct tf_module *m = ctx;
    CHECK(rp->Header.Type == NDIS_OBJECT_TYPE_FILTER_RESTART_PARAMETERS);
    tf_log("restart", m->d);
    if (m->d->k.fail_restart)
        return NDIS_STATUS_RESOURCES;
    atomic_store(&m->running, true);
    struct t_host *h = m->d->k.indicate_in_restart;
    if (h != NULL) {
        PNET_BUFFER_LIST n = t_chain(h, emu_adapter_miniport_handle(h->ad), 3);
        emu_miniport_indicate_receive(h->ad, n, 0, 3, 0);
        PNET_BUFFER_LIST s = t_chain(h, m->h, 2);
        NdisFSendNetBufferLists(m->h, s, 0, 0);
    }
    return m->d->k.pend_restart ? NDIS_STATUS_PENDING : NDIS_STATUS_SUCCESS;
}

static void tf_receive(NDIS_HANDLE ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG n,
                       ULONG flags)
{
    struct tf_module *m = ctx;
    m->rx += n;
    /* Pausing or Restarting: receives go back at once (RESOURCES ones just
       by returning from this call). */
    if (!atomic_load(&m->running)) {
        if (NDIS_TEST_RECEIVE_CAN_PEND(flags))
            NdisFReturnNetBufferLists(
                m->h, nbls,
                NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(flags) ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
        return;
    }
    if (m->d->k.hold_receives) {
        PNET_BUFFER_LIST *t = &m->held;
        while (*t)
            t = &(*t)->Next;
        *t = nbls;
        return;
    }
    if (m->d->k.return_twice) {
        PNET_BUFFER_LIST first = nbls;
        NdisFReturnNetBufferLists(m->h, nbls, 0);
        NdisFReturnNetBufferLists(m->h, first, 0);
        return;
    }
    NdisFIndicateReceiveNetBufferLists(m->h, nbls, port, n, flags);
}

/* Its own NBLs come home here: they are freed, not passed on. */
static void tf_free_own(struct tf_module *m, PNET_BUFFER_LIST *nbls)
{
    PNET_BUFFER_LIST keep = NULL, *t = &keep;
    while (*nbls) {
        PNET_BUFFER_LIST n = *nbls, next = n->Next;
        if (n->SourceHandle == m->h) {
            NdisFreeNetBufferList(n);
        } else {
            *t = n;
            t = &n->Next;
        }
        *nbls = next;
    }
    *t = NULL;
    *nbls = keep;
}

static void tf_return(NDIS_HANDLE ctx, PNET_BUFFER_LIST nbls, ULONG flags)
{
    struct tf_module *m = ctx;
    tf_free_own(m, &nbls);
    if (nbls)
        NdisFReturnNetBufferLists(m->h, nbls, flags);
}

static void tf_send(NDIS_HANDLE ctx, PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG flags)
{
    struct tf_module *m = ctx;
    if (!atomic_load(&m->running)) {
        for (PNET_BUFFER_LIST n = nbls; n; n = n->Next)
            NET_BUFFER_LIST_STATUS(n) = NDIS_STATUS_PAUSED;
        NdisFSendNetBufferListsComplete(
            m->h, nbls,
            NDIS_TEST_SEND_AT_DISPATCH_LEVEL(flags) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0);
        return;
    }
    NdisFSendNetBufferLists(m->h, nbls, port, flags);
}

static void tf_send_complete(NDIS_HANDLE ctx, PNET_BUFFER_LIST nbls, ULONG flags)
{
    struct tf_module *m = ctx;
    tf_free_own(m, &nbls);
    if (nbls)
        NdisFSendNetBufferListsComplete(m->h, nbls, flags);
}

static NDIS_STATUS tf_set_module_options(NDIS_HANDLE ctx)
{
    struct tf_module *m = ctx;
    tf_log("smo", m->d);
    NDIS_FILTER_PARTIAL_CHARACTERISTICS pc;
    memset(&pc, 0, sizeof(pc));
    pc.Header.Type = NDIS_OBJECT_TYPE_FILTER_PARTIAL_CHARACTERISTICS;
    pc.Header.Revision = NDIS_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1;
    pc.Header.Size = NDIS_SIZEOF_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1;
    pc.SendNetBufferListsHandler = tf_send;
    pc.SendNetBufferListsCompleteHandler = tf_send_complete;
    if (!m->d->k.bypass_receive) {
        pc.ReceiveNetBufferListsHandler = tf_receive;
        pc.ReturnNetBufferListsHandler = tf_return;
    }
    return NdisSetOptionalHandlers(m->h, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&pc);
}

/* If set, tf_register lets it add handlers before registering. */
static void (*tf_customize)(PNDIS_FILTER_DRIVER_CHARACTERISTICS ch);

static inline NDIS_STATUS tf_register(struct tf_driver *d, const char *name)
{
    memset(d, 0, offsetof(struct tf_driver, k));
    snprintf(d->name, sizeof(d->name), "%s", name);
    emu_test_register_inline_driver(&d->obj);
    NDIS_FILTER_DRIVER_CHARACTERISTICS ch;
    memset(&ch, 0, sizeof(ch));
    ch.Header.Type = NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS;
    ch.Header.Revision = NDIS_FILTER_CHARACTERISTICS_REVISION_1;
    ch.Header.Size = NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1;
    ch.MajorNdisVersion = 6;
    ch.MinorNdisVersion = 20;
    emu_ascii_to_ndis_string(name, d->wname, 32, &ch.ServiceName);
    ch.FriendlyName = ch.ServiceName;
    char unique[40];
    unsigned long long tag = 0;
    for (const char *c = name; *c; c++)
        tag = tag * 131 + (unsigned char)*c;
    snprintf(unique, sizeof(unique), "{4e444953-5445-5354-0000-%012llx}", tag & 0xffffffffffffull);
    emu_ascii_to_ndis_string(unique, d->wunique, 40, &ch.UniqueName);
    ch.AttachHandler = tf_attach;
    ch.DetachHandler = tf_detach;
    ch.PauseHandler = tf_pause;
    ch.RestartHandler = tf_restart;
    ch.SetFilterModuleOptionsHandler = tf_set_module_options;
    ch.ReceiveNetBufferListsHandler = tf_receive;
    ch.ReturnNetBufferListsHandler = tf_return;
    ch.SendNetBufferListsHandler = tf_send;
    ch.SendNetBufferListsCompleteHandler = tf_send_complete;
    if (tf_customize != NULL)
        tf_customize(&ch);
    NDIS_STATUS st = NdisFRegisterFilterDriver(&d->obj, d, &ch, &d->handle);
    emu_work_drain();
    return st;
}

#endif
