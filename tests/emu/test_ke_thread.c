/*
 * System threads and work items: a system thread starts at PASSIVE_LEVEL
 * and a driver can wait for its end through its thread object; work items
 * run at PASSIVE_LEVEL on worker threads and may re-queue themselves; the
 * loader's parameters; DbgPrint's Windows format sizes.
 */
#include "ktest.h"

static atomic_int g_thread_ran;
static atomic_int g_items;
static KEVENT g_items_done;

static VOID thread_start(PVOID ctx)
{
    CHECK(ctx == (PVOID)&g_thread_ran);
    CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);
    CHECK(PsIsSystemThread(PsGetCurrentThread()));
    kt_sleep_ms(30);
    atomic_store(&g_thread_ran, 1);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static VOID item_routine(PDEVICE_OBJECT dev, PVOID ctx)
{
    PIO_WORKITEM item = ctx;
    (void)dev;
    CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);
    if (atomic_fetch_add(&g_items, 1) < 2)
        IoQueueWorkItem(item, item_routine, DelayedWorkQueue, item); /* re-queue */
    else
        KeSetEvent(&g_items_done, 0, FALSE);
}

/* Leaves '*' bytes where DbgPrint's formatter keeps its conversion spec: a
   formatter that reads its spec past what it parsed takes a width from the
   arguments and prints the next one from the wrong slot (a crash on %s). */
static __attribute__((noinline)) void dirty_stack(void)
{
    volatile char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = '*';
}

int main(void)
{
    HANDLE h;
    PVOID obj;
    PIO_WORKITEM item;
    DEVICE_OBJECT dev = {0};
    KIRQL old;
    emu_kernel_init(2);

    CHECK(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, thread_start,
                               &g_thread_ran) == STATUS_SUCCESS);
    CHECK(ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &obj, NULL) ==
          STATUS_SUCCESS);
    CHECK(ZwClose(h) == STATUS_SUCCESS);
    CHECK(KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
    CHECK(atomic_load(&g_thread_ran) == 1);
    ObDereferenceObject(obj);

    KeInitializeEvent(&g_items_done, NotificationEvent, FALSE);
    item = IoAllocateWorkItem(&dev);
    CHECK(item != NULL);
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* queueing is legal at DISPATCH */
    IoQueueWorkItem(item, item_routine, DelayedWorkQueue, item);
    KeLowerIrql(old);
    CHECK(KeWaitForSingleObject(&g_items_done, Executive, KernelMode, FALSE, NULL) ==
          STATUS_SUCCESS);
    emu_work_drain();
    CHECK(atomic_load(&g_items) == 3);
    IoFreeWorkItem(item);

    emu_param_set(NULL, "Strategy", "epoch");
    emu_param_set("hotlwf", "Strategy", "rwlock");
    emu_param_set("hotlwf", "strategy", "rundown"); /* names are case-insensitive */
    CHECK(strcmp(emu_param_get("hotlwf", "Strategy"), "rundown") == 0);
    CHECK(strcmp(emu_param_get("other", "STRATEGY"), "epoch") == 0);
    CHECK(emu_param_get("hotlwf", "Missing") == NULL);

    {
        UNICODE_STRING u = RTL_CONSTANT_STRING(L"adapter\x00e9");
        ANSI_STRING a;
        ULONG v;
        UNICODE_STRING n = RTL_CONSTANT_STRING(L"0x1F");
        DbgPrint("%wZ %lu %I64u %ws %d%%\n", &u, (ULONG)7, (ULONG64)1 << 40, L"w", -3);
        CHECK(RtlUnicodeStringToAnsiString(&a, &u, TRUE) == STATUS_SUCCESS);
        CHECK(a.Length == 8 && memcmp(a.Buffer, "adapter?", 8) == 0);
        RtlFreeAnsiString(&a);
        CHECK(RtlUnicodeStringToInteger(&n, 0, &v) == STATUS_SUCCESS && v == 31);
    }
    dirty_stack();
    DbgPrint("%s %lu\n", "after a dirty stack", (ULONG)5);
    CHECK(emu_violation_count() == 0);
    emu_kernel_shutdown();
    printf("ok\n");
    return 0;
}
