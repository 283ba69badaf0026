/*
 * bad_thread_at_unload: unloads while its system thread still runs.
 *
 * The bug: a statistics thread started in DriverEntry is told to stop in
 * DriverUnload (an event), but DriverUnload does not wait for it: the
 * thread's final flush (100 ms) is still running the driver's code when
 * the image goes away.
 *
 * On Windows: bugcheck 0xCE DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS
 * when the thread next executes in the unloaded image.
 *
 * Expected finding: thread-at-unload naming this driver at DriverUnload.
 */
#include "testlwf.h"

static KEVENT TuStop;
static KSTART_ROUTINE TuThread;
static DRIVER_UNLOAD TuUnload;
static volatile LONG TuFlushes;

_Use_decl_annotations_ static VOID TuThread(PVOID StartContext)
{
    LARGE_INTEGER Period, Flush;

    UNREFERENCED_PARAMETER(StartContext);
    Period.QuadPart = -100 * 10000LL; /* 100 ms */
    while (KeWaitForSingleObject(&TuStop, Executive, KernelMode, FALSE, &Period) ==
           STATUS_TIMEOUT)
        InterlockedIncrement(&TuFlushes);
    Flush.QuadPart = -100 * 10000LL; /* the final flush */
    KeDelayExecutionThread(KernelMode, FALSE, &Flush);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

_Use_decl_annotations_ static VOID TuUnload(PDRIVER_OBJECT DriverObject)
{
    TlDriverUnload(DriverObject);
    KeSetEvent(&TuStop, IO_NO_INCREMENT, FALSE); /* BUG: and not waiting for the thread */
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    HANDLE Thread;
    NTSTATUS Status;

    UNREFERENCED_PARAMETER(RegistryPath);
    Status = TlRegister(DriverObject, L"bad_thread_at_unload", NULL, NULL, 0);
    if (!NT_SUCCESS(Status))
        return Status;
    KeInitializeEvent(&TuStop, NotificationEvent, FALSE);
    Status = PsCreateSystemThread(&Thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, TuThread, NULL);
    if (!NT_SUCCESS(Status)) {
        NdisFDeregisterFilterDriver(TlFilterDriverHandle);
        return Status;
    }
    ZwClose(Thread);
    DriverObject->DriverUnload = TuUnload;
    return STATUS_SUCCESS;
}
