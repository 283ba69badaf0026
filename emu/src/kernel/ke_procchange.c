/*
 * KeRegisterProcessorChangeCallback / KeDeregisterProcessorChangeCallback.
 *
 * ndisemu's processors are fixed when the kernel starts (emu_kernel_init),
 * so no processor is ever added while a driver runs: a registered callback
 * is called only at registration, once per active processor, when the
 * driver asks for it with KE_PROCESSOR_CHANGE_ADD_EXISTING. It is called
 * there as Windows calls it for a new processor: KeProcessorAddStartNotify
 * (the driver may veto through *OperationStatus; for a processor that is
 * already running, the veto only fails the registration), then
 * KeProcessorAddCompleteNotify, at PASSIVE_LEVEL, from the registering
 * thread. What remains to be emulated for hot-add proper is a processor
 * appearing later; the registration list is ready for it.
 */
#include "kernel.h"

#include <pthread.h>
#include <stdlib.h>

struct ke_proc_callback {
    PPROCESSOR_CALLBACK_FUNCTION fn;
    PVOID ctx;
    struct ke_proc_callback *next;
};

static pthread_mutex_t g_proc_cb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ke_proc_callback *g_proc_cbs;

/* Announces the existing processors to one callback; FALSE when it vetoed one. */
static BOOLEAN announce_existing(PPROCESSOR_CALLBACK_FUNCTION fn, PVOID ctx)
{
    ULONG n = KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);

    for (ULONG i = 0; i < n; i++) {
        KE_PROCESSOR_CHANGE_NOTIFY_CONTEXT change = {0};
        NTSTATUS status = STATUS_SUCCESS;

        change.NtNumber = i;
        KeGetProcessorNumberFromIndex(i, &change.ProcNumber);
        change.State = KeProcessorAddStartNotify;
        fn(ctx, &change, &status);
        if (!NT_SUCCESS(status))
            return FALSE;
        change.State = KeProcessorAddCompleteNotify;
        fn(ctx, &change, &status);
    }
    return TRUE;
}

PVOID NTAPI KeRegisterProcessorChangeCallback(PPROCESSOR_CALLBACK_FUNCTION CallbackFunction,
                                              PVOID CallbackContext, ULONG Flags)
{
    struct ke_proc_callback *cb;

    emu_irql_require("KeRegisterProcessorChangeCallback", PASSIVE_LEVEL);
    if (CallbackFunction == NULL)
        return NULL;
    if ((Flags & KE_PROCESSOR_CHANGE_ADD_EXISTING) &&
        !announce_existing(CallbackFunction, CallbackContext))
        return NULL;
    cb = calloc(1, sizeof(*cb));
    if (cb == NULL)
        return NULL;
    cb->fn = CallbackFunction;
    cb->ctx = CallbackContext;
    pthread_mutex_lock(&g_proc_cb_lock);
    cb->next = g_proc_cbs;
    g_proc_cbs = cb;
    pthread_mutex_unlock(&g_proc_cb_lock);
    return cb;
}

VOID NTAPI KeDeregisterProcessorChangeCallback(PVOID CallbackHandle)
{
    struct ke_proc_callback **p;

    emu_irql_require("KeDeregisterProcessorChangeCallback", PASSIVE_LEVEL);
    pthread_mutex_lock(&g_proc_cb_lock);
    for (p = &g_proc_cbs; *p != NULL; p = &(*p)->next) {
        if (*p == CallbackHandle) {
            struct ke_proc_callback *cb = *p;

            *p = cb->next;
            free(cb);
            break;
        }
    }
    pthread_mutex_unlock(&g_proc_cb_lock);
}
