/*
 * Shared among ndis_*.c only: filter drivers, filter modules, adapters and
 * the NBL verifier's hidden header.
 *
 * Positions: the stack of an adapter is numbered bottom-up; the miniport is
 * position -1, slot i (spec order) is position i, the protocol is position
 * nslots. Datapath routing only walks positions; it never takes a lock. A
 * module pointer changes only while the whole stack is Paused, i.e. when the
 * miniport and the protocol have every NBL back and originate nothing, so no
 * datapath walk can be running concurrently (a filter that still originates
 * then is what the verifier reports). A module's handlers change while the
 * stack is Paused (FilterSetModuleOptions) or while that module is
 * Restarting and so admits no datapath call (FilterRestart; the argument is
 * at NdisSetOptionalHandlers in ndis_filter.c).
 */
#ifndef NDISEMU_NDIS_INTERNAL_H
#define NDISEMU_NDIS_INTERNAL_H

#include <ndis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"
#include "handles.h"
#include "verifier.h"

#define EMU_NDIS_MAX_SLOTS 16
#define EMU_NDIS_MAX_ADAPTERS 64

enum emu_party_kind { EMU_PARTY_MINIPORT, EMU_PARTY_PROTOCOL, EMU_PARTY_MODULE };

/* Anything that can own an NBL. Its address is the NDIS handle of that
   party, issued in the handle table (handles.h) while the party exists. */
struct emu_party {
    enum emu_party_kind kind;
    struct emu_adapter *ad;
    int pos;
    const char *name;
};

enum emu_module_state {
    EMU_MS_DETACHED,
    EMU_MS_ATTACHING,
    EMU_MS_PAUSED,
    EMU_MS_RESTARTING,
    EMU_MS_RUNNING,
    EMU_MS_PAUSING,
};
const char *emu_module_state_name(int state);

/* Its address is the filter driver handle (handles.h). */
struct emu_filter_driver {
    char name[64]; /* the service name: the driver .so's base name */
    /* The characteristics' names, validated at registration (ndis_filter.c). */
    char friendly_name[128];
    char unique_name[40]; /* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" */
    PDRIVER_OBJECT object;
    NDIS_HANDLE context;
    NDIS_FILTER_DRIVER_CHARACTERISTICS chars;
    struct emu_filter_driver *next;
};


struct emu_module {
    struct emu_party party; /* first: the NdisFilterHandle is the module */
    char name[160];
    struct emu_filter_driver *drv;
    unsigned slot;
    /* As NDIS names and numbers the module's interface (its attach parameters). */
    char guid_name[96]; /* FilterModuleGuidName: "{adapter}-{UniqueName}-0000" */
    WCHAR guid_name_w[96];
    NDIS_STRING guid_name_u;
    NET_IFINDEX if_index;
    NET_LUID net_luid;
    NDIS_HANDLE ctx; /* FilterModuleContext from NdisFSetAttributes */
    bool attributes_set;
    _Atomic int state;
    _Atomic bool in_set_options;
    _Atomic bool pause_pending;
    _Atomic bool restart_pending;
    NDIS_STATUS restart_status;
    pthread_mutex_t mu;
    pthread_cond_t cv;

    /* Datapath handlers as NdisSetOptionalHandlers left them (NULL: bypassed). */
    _Atomic(FILTER_SEND_NET_BUFFER_LISTS_HANDLER) send;
    _Atomic(FILTER_SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER) send_complete;
    _Atomic(FILTER_CANCEL_SEND_HANDLER) cancel_send;
    _Atomic(FILTER_RECEIVE_NET_BUFFER_LISTS_HANDLER) receive;
    _Atomic(FILTER_RETURN_NET_BUFFER_LISTS_HANDLER) ret;

    /* Verifier bookkeeping (untouched when the verifier is off). */
    _Atomic long held;           /* NBLs whose owner is this module */
    _Atomic long originated_out; /* NBLs it originated, not back yet */
    _Atomic long inflight;       /* datapath callbacks running in it */
    _Atomic long begins;         /* callbacks ever entered: detects overlap with a check */
    _Atomic bool check_pending;  /* pause completed while callbacks were in flight */
    /*
     * NDIS's own references on this object from datapath calls that touch it
     * after the driver's callback returns (the verifier's enter/exit
     * bookkeeping). The decrement in inflight_end() is the last access such a
     * call makes to the module; emu_stack_detach_locked() waits for zero
     * before it frees. Taken only while the verifier is on, so the datapath
     * has no interlocked op of its own when it is off.
     */
    _Atomic long dp_refs;
    /*
     * Gates of the call-while-paused / call-while-restarting rules; the
     * happens-before argument is in emu_verify_originate (ndis_verify_state.c).
     * dp_open: the restart completed and FilterPause has not returned since.
     *   A datapath call samples it when it is admitted (routed to the module).
     * orig_open: Running, and NDIS has not called FilterPause since.
     * pause_called_ns: when NDIS last called FilterPause (emu_now_ns).
     * restart_calling: FilterRestart is executing (the driver must publish
     *   "Running" to its own contexts before it returns SUCCESS).
     * Each is written only by the control thread (ad->ctl held) or by
     * NdisFRestartComplete, and is sequentially consistent.
     */
    _Atomic bool dp_open;
    _Atomic bool orig_open;
    _Atomic uint64_t pause_called_ns;
    _Atomic bool restart_calling;
    struct emu_module *zombie_next;
    /* Control path (ndis_oid.c), under its lock: calls running in the
       module, and no new one once its detach began. */
    long ctl_refs;
    bool ctl_closing;
};

struct emu_slot_spec {
    char driver[64];
    bool modifying;
    bool mandatory;
};

struct emu_adapter {
    struct emu_adapter_info info;
    const struct emu_edge_ops *ops;
    void *mp, *pr;
    struct emu_party mp_party, pr_party;
    char mp_name[80], pr_name[80];
    NDIS_STRING name_u, instance_u; /* BaseMiniportName, BaseMiniportInstanceName */
    WCHAR name_w[64], instance_w[64];
    char guid[40];      /* the "{...}" of BaseMiniportName */
    NET_LUID net_luid;  /* BaseMiniportNetLuid */
    /* The restart attributes of the restart under way (NULL otherwise): one
       chain for the whole stack, so that a module may change what the
       modules above it see, as NDIS allows. */
    PNDIS_RESTART_ATTRIBUTES restart_attrs;

    pthread_mutex_t ctl; /* serializes control operations on this adapter */
    bool started;
    bool layers_running; /* miniport + protocol restarted */
    unsigned nslots;
    struct emu_slot_spec spec[EMU_NDIS_MAX_SLOTS];
    _Atomic(struct emu_module *) slots[EMU_NDIS_MAX_SLOTS];
    _Atomic int restart_requests;
    _Atomic uint64_t filter_calls[EMU_FC_COUNT]; /* ndis_oid.c */
};

/* ndis_filter.c: the registry of filter drivers. */
struct emu_filter_driver *emu_ndis_find_driver(const char *name);
void emu_ndis_driver_lock(void);
void emu_ndis_driver_unlock(void);

/* ndis_stack.c: a pended pause / restart completes (NdisFPauseComplete,
   NdisFRestartComplete) or a synchronous one returned. */
void emu_module_pause_completed(struct emu_module *m);
void emu_module_restart_completed(struct emu_module *m, NDIS_STATUS status);

/* ndis_stack.c: control operations, called with ad->ctl held. */
NDIS_STATUS emu_stack_pause_locked(struct emu_adapter *ad, ULONG reason);
NDIS_STATUS emu_stack_restart_locked(struct emu_adapter *ad);
NDIS_STATUS emu_stack_attach_locked(struct emu_adapter *ad, unsigned slot);
void emu_stack_detach_locked(struct emu_adapter *ad, unsigned slot);
void emu_stack_parse_into(struct emu_adapter *ad);

/* ndis_oid.c: detach waits until no control call or OID involves m
   (under the caller's watch, which it notes), and then forgets m. */
void emu_oid_quiesce(struct emu_module *m, struct emu_watch *w);
void emu_oid_forget(struct emu_module *m);
/* oid-leak findings for every OID handed to a module and never completed. */
void emu_oid_report_leaks(void);

void emu_ndis_count_send_cancel(struct emu_adapter *ad);

/* ndis_datapath.c */
/* A send cancel from position pos down: the next FilterCancelSendNetBufferLists
   (a datapath call, like a send), or the miniport. */
void emu_cancel_send_below(struct emu_adapter *ad, int pos, PVOID cancel_id);
struct emu_module *emu_module_from_handle(NDIS_HANDLE h, const char *api);
struct emu_party *emu_party_from_handle(NDIS_HANDLE h);

/* The hidden header ndisemu puts in front of every NBL it allocates. */
struct emu_nbl_hdr {
    uint32_t magic;
    uint32_t flags;
    struct emu_nbl_pool *pool;
    _Atomic(struct emu_party *) owner; /* NULL: not yet handed to NDIS */
    struct emu_party *source;
    void *pad;
    /* nbl-modified-after-handoff: sums[p] is the checksum taken when the
       module at position p handed the NBL on; bit p of sum_valid says it is
       pending (see emu_nbl_try_transfer). */
    uint32_t sum_valid;
    uint32_t sums[EMU_NDIS_MAX_SLOTS];
    uint32_t pad2;
} __attribute__((aligned(MEMORY_ALLOCATION_ALIGNMENT))); /* the NBL after it is 16-aligned */
_Static_assert(sizeof(struct emu_nbl_hdr) % 16 == 0, "an NBL stays 16-byte aligned");
#define EMU_NBL_MAGIC 0x4e424c48u /* 'NBLH' */
#define EMU_NBL_NB_INLINE 0x1u
#define EMU_NBL_DATA_INLINE 0x2u
static inline struct emu_nbl_hdr *emu_nbl_hdr(PNET_BUFFER_LIST nbl)
{
    return (struct emu_nbl_hdr *)((char *)nbl - sizeof(struct emu_nbl_hdr));
}

/* ndis_verify.c: the NBL-ownership verifier. */
void emu_nbl_verify_alloc(PNET_BUFFER_LIST nbl, struct emu_party *allocator);
void emu_nbl_verify_free(PNET_BUFFER_LIST nbl);
/*
 * Moves one NBL from `from` (the caller of `api`) to `to`. False, after a
 * finding, when `from` does not own it; the NBL must then not be passed on.
 */
bool emu_nbl_try_transfer(PNET_BUFFER_LIST nbl, struct emu_party *from, struct emu_party *to,
                          const char *api, bool returning);
/* Ownership goes back to `to` unconditionally (end of a RESOURCES indication). */
void emu_nbl_force_owner(PNET_BUFFER_LIST nbl, struct emu_party *to);
#define EMU_NBL_IN_RESOURCES 0x4u
#define EMU_NBL_RX_OPEN 0x8u /* see mark_received_open (ndis_datapath.c) */
struct emu_party *emu_nbl_owner(PNET_BUFFER_LIST nbl);
/*
 * A chain handed to a datapath API: an `nbl-chain-cycle` finding when its
 * Next links loop (the loop is then cut, so the chain can be walked); an
 * `nbl-count-mismatch` finding when `count` (NumberOfNetBufferLists, or -1
 * where the API has none) differs from its length.
 */
void emu_verify_chain(const char *api, PNET_BUFFER_LIST nbls, long count);
/* Module entered/left a datapath callback. */
void emu_verify_callback_enter(struct emu_module *m);
void emu_verify_callback_exit(struct emu_module *m);
/* Pause completed: checks now or when the last in-flight callback leaves. */
void emu_verify_pause_complete(struct emu_module *m);
/* Detach / deregistration / shutdown: NBLs still owned are leaks. */
void emu_verify_detach(struct emu_module *m);
/* A send or an indication by m: call-while-paused / call-while-restarting
   (verifier/ndis_verify_state.c). */
void emu_verify_originate(struct emu_module *m, const char *api, PNET_BUFFER_LIST nbls);
/* Cookie of a datapath callback's context: DATAPATH always, DP_OPEN when the
   call was admitted while m->dp_open was set. */
#define EMU_COOKIE_DATAPATH 0x1u
#define EMU_COOKIE_DP_OPEN 0x2u

static inline bool emu_ndis_verifying(void)
{
    return emu_verifier_enabled();
}

/* The driver name an NDIS handle (driver or module handle) stands for, or NULL. */
const char *emu_ndis_handle_driver_name(NDIS_HANDLE h);

/*
 * Test hook: a DRIVER_OBJECT made by a test binary (not by the loader). A
 * filter driver registered with it is named by its characteristics'
 * ServiceName.
 */
void emu_test_register_inline_driver(PDRIVER_OBJECT obj);

/* Utilities. */
void emu_ascii_to_ndis_string(const char *s, WCHAR *buf, size_t cap, NDIS_STRING *out);
/* Whole, or as much as fits in cap - 1 bytes: returns false if it did not fit. */
bool emu_ndis_string_to_ascii(PCUNICODE_STRING s, char *buf, size_t cap);

#endif
