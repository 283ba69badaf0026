/*
 * KeRegisterProcessorChangeCallback: with KE_PROCESSOR_CHANGE_ADD_EXISTING
 * every active processor is announced (start, then complete) with its index
 * and number; without it nothing is called; a veto at start fails the
 * registration; deregistration takes a handle back.
 */
#include "ktest.h"

#define NCPUS 3

static ULONG seen_start[NCPUS], seen_complete[NCPUS];
static int bad_context;

static VOID NTAPI record(PVOID ctx, PKE_PROCESSOR_CHANGE_NOTIFY_CONTEXT change, PNTSTATUS status)
{
    PROCESSOR_NUMBER pn;

    if (ctx != (PVOID)&seen_start || change->NtNumber >= NCPUS || !NT_SUCCESS(*status))
        bad_context++;
    else if (!NT_SUCCESS(KeGetProcessorNumberFromIndex(change->NtNumber, &pn)) ||
             pn.Group != change->ProcNumber.Group || pn.Number != change->ProcNumber.Number)
        bad_context++;
    else if (change->State == KeProcessorAddStartNotify)
        seen_start[change->NtNumber]++;
    else if (change->State == KeProcessorAddCompleteNotify && seen_start[change->NtNumber])
        seen_complete[change->NtNumber]++;
    else
        bad_context++;
}

static VOID NTAPI veto(PVOID ctx, PKE_PROCESSOR_CHANGE_NOTIFY_CONTEXT change, PNTSTATUS status)
{
    (void)ctx;
    if (change->State == KeProcessorAddStartNotify)
        *status = STATUS_INSUFFICIENT_RESOURCES;
}

int main(void)
{
    PVOID h;

    emu_kernel_init(NCPUS);

    h = KeRegisterProcessorChangeCallback(record, &seen_start, 0);
    CHECK(h != NULL);
    for (int i = 0; i < NCPUS; i++)
        CHECK(seen_start[i] == 0 && seen_complete[i] == 0);
    KeDeregisterProcessorChangeCallback(h);

    h = KeRegisterProcessorChangeCallback(record, &seen_start, KE_PROCESSOR_CHANGE_ADD_EXISTING);
    CHECK(h != NULL);
    for (int i = 0; i < NCPUS; i++)
        CHECK(seen_start[i] == 1 && seen_complete[i] == 1);
    CHECK(bad_context == 0);
    KeDeregisterProcessorChangeCallback(h);

    CHECK(KeRegisterProcessorChangeCallback(veto, NULL, KE_PROCESSOR_CHANGE_ADD_EXISTING) == NULL);
    CHECK(KeRegisterProcessorChangeCallback(NULL, NULL, 0) == NULL);

    CHECK(emu_violation_count() == 0);
    emu_kernel_shutdown();
    printf("processor change callbacks: ok\n");
    return 0;
}
