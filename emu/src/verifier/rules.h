/*
 * The verifier's rules: one line each. Adding a rule is adding a line here
 * (the enum, the report's id, its Windows equivalent and its description
 * all come from it); docs/verifier.md gets the row that explains it.
 *
 *   X(NAME, "id", "Windows equivalent", "what the driver did")
 *
 * NAME gives EMU_RULE_NAME. The id is stable: tests and users match on it.
 * The Windows equivalent names what would catch the same defect on Windows:
 * a Driver Verifier (DV) or Static Driver Verifier (SDV) rule, or a bugcheck
 * code with its first parameter, e.g. "0xC2(0x7) BAD_POOL_CALLER".
 */
#ifndef NDISEMU_RULES_H
#define NDISEMU_RULES_H

#define EMU_RULES(X)                                                                               \
    X(NBL_DOUBLE_RETURN, "nbl-double-return", "DV NDIS: DoubleComplete / 0x7C",                   \
      "an NBL handed back to its source twice")                                                    \
    X(NBL_WRONG_OWNER, "nbl-wrong-owner", "DV NDIS NBL tracking / 0x7C",                          \
      "an NBL passed on by a driver that does not own it")                                         \
    X(NBL_LEAK, "nbl-leak", "DV NDIS NBL tracking / 0x7C(0x27)",                                   \
      "NBLs received or originated that never came back or were never returned")                  \
    X(CALL_WHILE_PAUSED, "call-while-paused", "DV NDIS: NdisFilterTimedDataSend/Receive",         \
      "a send or indication of its own while Paused or Pausing")                                  \
    X(PAUSE_WITH_OUTSTANDING, "pause-with-outstanding-nbls", "DV NDIS: NdisFilterTimedPauseComplete", \
      "pause completed while NBLs were still held or away")                                        \
    X(PAUSE_COMPLETE_TWICE, "pause-complete-twice", "0x7C: NdisFPauseComplete without pending pause", \
      "one pause completed twice")                                                                 \
    X(IRQL, "irql", "SDV/DV: Irql_Filter_Driver_Function, IrqlNdisFunctions / 0xC4",              \
      "an API called, or a callback returned, at the wrong IRQL")                                 \
    X(POOL_LEAK, "pool-leak", "DV pool tracking: 0xC4(0x62)",                                     \
      "pool still allocated when the driver unloads")                                              \
    X(LOCK_MISUSE, "lock-misuse", "SDV: SpinLock, SpinLockDpr, SpinlockRelease / 0xC4",           \
      "a lock released that is not held, acquired twice, or misused")                             \
    X(DEADLOCK, "deadlock", "0x7C(0x25) NDIS watchdog / 0x9F",                                    \
      "a control operation blocked past the watchdog limit")                                      \
    X(STATE, "state", "DV NDIS state checks / 0x7C",                                              \
      "an NDIS call out of sequence or with a wrong argument")                                    \
    X(STALE_HANDLE, "stale-handle", "DV NDIS handle checks / 0x7C",                               \
      "a handle NDIS never issued, already freed, or of the wrong kind")                          \
    X(NBL_COUNT_MISMATCH, "nbl-count-mismatch", "DV NDIS: NumberOfNetBufferLists check / 0x7C",   \
      "NumberOfNetBufferLists differs from the length of the chain")                              \
    X(NBL_FORGED_SOURCE, "nbl-forged-source", "DV NDIS NBL tracking / 0x7C",                      \
      "an originated NBL whose SourceHandle is not the caller's own handle")                      \
    X(NBL_CHAIN_CYCLE, "nbl-chain-cycle", "DV NDIS NBL tracking / 0x7C",                          \
      "an NBL chain whose Next links loop")                                                       \
    X(NBL_OWN_PASSED_BACK, "nbl-own-passed-back", "DV NDIS NBL tracking / 0x7C",                  \
      "the module returned or completed an NBL it allocated itself")                              \
    X(NBL_MODIFIED_AFTER_HANDOFF, "nbl-modified-after-handoff", "DV NDIS NBL tracking / 0x7C",    \
      "an NBL, its NET_BUFFERs or data written while another driver owned it")                   \
    X(POOL_DOUBLE_FREE, "pool-double-free", "0xC2(0x7) BAD_POOL_CALLER",                          \
      "pool freed twice, or a pointer that is not a pool block freed")                            \
    X(POOL_WRONG_TAG, "pool-wrong-tag", "0xC2(0xA) BAD_POOL_CALLER / DV 0xC4",                    \
      "ExFreePoolWithTag with a tag other than the allocation's")                                 \
    X(OBJECT_FREED_WHILE_QUEUED, "object-freed-while-queued",                                      \
      "0xC7 TIMER_OR_DPC_INVALID / 0xE4 WORKER_INVALID",                                           \
      "a DPC or work item freed, or its module detached, while it was queued")                    \
    X(THREAD_AT_UNLOAD, "thread-at-unload",                                                        \
      "0xCE DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS",                                \
      "a system thread of the driver still running when it unloads")                              \
    X(RESOURCE_LEAK, "resource-leak", "DV NDIS / 0xC4(0x62)-style leak at unload",               \
      "NBL/NB pools, NBLs, MDLs or work items never freed")                                      \
    X(CALL_WHILE_RESTARTING, "call-while-restarting", "DV NDIS: NdisFilterTimedDataSend/Receive", \
      "a send or indication of its own while Restarting")                                         \
    X(RESTART_COMPLETE_UNEXPECTED, "restart-complete-unexpected",                                  \
      "0x7C: NdisFRestartComplete without pending restart",                                        \
      "NdisFRestartComplete with no restart pending, or a restart completed twice")               \
    X(OID_COMPLETE_TWICE, "oid-complete-twice", "DV NDIS: DoubleComplete / 0x7C",                 \
      "one OID request completed twice")                                                          \
    X(OID_ILLEGAL_COMPLETION, "oid-illegal-completion", "0x7C(0x1D) illegal OID completion",      \
      "NdisFOidRequestComplete for a request the module was never handed")                       \
    X(OID_LEAK, "oid-leak", "0x7C(0x25) NDIS OID watchdog",                                       \
      "an OID request pended and never completed")                                                \
    X(DPC_WATCHDOG, "dpc-watchdog", "0x133 DPC_WATCHDOG_VIOLATION (0: single DPC, 1: cumulative)", \
      "a CPU held at DISPATCH_LEVEL too long: one DPC, or DPCs re-queueing themselves")      \
    X(POOL_ZERO_TAG, "pool-zero-tag",                                                              \
      "SDV NDIS: NdisAllocateMemoryWithTagPriority / 0xC2(0x9B) BAD_POOL_CALLER",                  \
      "pool or an NDIS object allocated with the tag 0")                                          \
    X(STALL_TOO_LONG, "stall-too-long", "SDV NDIS: NdisStallExecution_Delay",                     \
      "NdisStallExecution or KeStallExecutionProcessor for more than 50 microseconds")           \
    X(TIMER_NOT_CANCELLED, "timer-not-cancelled", "SDV NDIS: CancelTimerObject / 0xC7",           \
      "an NDIS timer object still set when it is freed or its driver unloads")                   \
    X(STATUS_INDICATION_INVALID, "status-indication-invalid", "0x7C(0x20) BUGCODE_NDIS_DRIVER",   \
      "NdisFIndicateStatus with a malformed NDIS_STATUS_INDICATION")                              \
    X(PNP_EVENT_INVALID, "pnp-event-invalid", "0x7C(0x22) BUGCODE_NDIS_DRIVER",                   \
      "NdisFNetPnPEvent with a malformed NET_PNP_EVENT_NOTIFICATION")

#endif
