/*
 * ok_gate: the pause gate the cry-wolf drivers (ok_*.c) share.
 *
 * Module->Counter counts the module's work in flight: 1 for "Running" (the
 * bias, added by OkGateOpen in FilterRestart) plus one per piece of work the
 * driver started while Running and has not finished (a receive it is
 * passing on, a batch in its queue, an NBL or OID of its own that is away).
 *
 *   start:  OkGateEnter increments, THEN reads the state; on anything but
 *           Running it undoes the increment and the work is not started.
 *   pause:  OkGateClose publishes Pausing, THEN drops the bias.
 *
 * Both sides are interlocked, so ordered: either the starter saw Pausing and
 * did not start (nothing new after the module observably entered Pausing),
 * or FilterPause's decrement sees the starter's reference and the pause
 * stays pending until that work finishes. Whoever drops the count to zero
 * while a pause is pending claims its completion with one exchange of
 * Module->Outstanding (the "pause pending" flag here), so the pause is
 * completed exactly once: by FilterPause returning SUCCESS, or by one
 * NdisFPauseComplete from whoever finished the last piece of work.
 */
#ifndef OK_GATE_H
#define OK_GATE_H

#include "testlwf.h"

/* FilterRestart: the module may start work again. */
static __inline VOID OkGateOpen(PTL_MODULE Module)
{
    InterlockedExchange(&Module->Outstanding, 0);
    /* Added, not stored: receives from below bounce off a Restarting module
       while holding a reference for a moment, and a store would lose it. */
    InterlockedIncrement(&Module->Counter);
    InterlockedExchange(&Module->State, TlRunning);
}

/* TRUE when the caller claimed the pending pause: it must complete it. */
static __inline BOOLEAN OkGatePut(PTL_MODULE Module)
{
    if (InterlockedDecrement(&Module->Counter) != 0)
        return FALSE;
    return InterlockedExchange(&Module->Outstanding, 0) == 1;
}

static __inline VOID OkGateCompletePause(PTL_MODULE Module)
{
    InterlockedExchange(&Module->State, TlPaused);
    NdisFPauseComplete(Module->FilterHandle);
}

/* Ends one piece of work; completes the pause if it was the last. */
static __inline VOID OkGateLeave(PTL_MODULE Module)
{
    if (OkGatePut(Module))
        OkGateCompletePause(Module);
}

/* Starts one piece of work if the module is Running. */
static __inline BOOLEAN OkGateEnter(PTL_MODULE Module)
{
    InterlockedIncrement(&Module->Counter);
    if (InterlockedCompareExchange(&Module->State, TlRunning, TlRunning) == TlRunning)
        return TRUE;
    OkGateLeave(Module);
    return FALSE;
}

/*
 * OkGateEnter for a caller holding a spin lock of its own: a pause that the
 * failed attempt would complete is not completed here (no NDIS call under
 * the caller's lock) but left to the caller, which must call
 * OkGateCompletePause once it has dropped its lock. Until then the module
 * stays Pausing, so it cannot be detached.
 */
static __inline BOOLEAN OkGateTryEnter(PTL_MODULE Module, PBOOLEAN CompletePause)
{
    *CompletePause = FALSE;
    InterlockedIncrement(&Module->Counter);
    if (InterlockedCompareExchange(&Module->State, TlRunning, TlRunning) == TlRunning)
        return TRUE;
    *CompletePause = OkGatePut(Module);
    return FALSE;
}

/* Takes one more reference for work that is already covered by one (a
   receive call queueing its batch): the state need not be looked at again. */
static __inline VOID OkGateAddRef(PTL_MODULE Module)
{
    InterlockedIncrement(&Module->Counter);
}

/* FilterPause: no new work from now on; SUCCESS if nothing is in flight. */
static __inline NDIS_STATUS OkGateClose(PTL_MODULE Module)
{
    InterlockedExchange(&Module->State, TlPausing);
    InterlockedExchange(&Module->Outstanding, 1);
    if (OkGatePut(Module)) {
        InterlockedExchange(&Module->State, TlPaused);
        return NDIS_STATUS_SUCCESS;
    }
    return NDIS_STATUS_PENDING;
}

/* FilterRestart and FilterPause of a driver whose restart and pause are
   the gate's and nothing else. */
static __inline NDIS_STATUS OkGateRestart(NDIS_HANDLE FilterModuleContext,
                                          PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    UNREFERENCED_PARAMETER(RestartParameters);
    OkGateOpen(FilterModuleContext);
    return NDIS_STATUS_SUCCESS;
}

static __inline NDIS_STATUS OkGatePause(NDIS_HANDLE FilterModuleContext,
                                        PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    UNREFERENCED_PARAMETER(PauseParameters);
    return OkGateClose(FilterModuleContext);
}

#endif
