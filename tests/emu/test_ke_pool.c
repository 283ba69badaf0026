/*
 * Pool: accounting by driver and tag, the pool-leak finding at unload (a
 * real driver .so loaded through the loader), the tag-mismatch finding,
 * zeroing, and the irql finding for paged pool at DISPATCH_LEVEL; a failing
 * DriverEntry. argv[1]: path of drv_leaky.so, argv[2]: path of drv_failing.so.
 */
#include "ktest.h"

int main(int argc, char **argv)
{
    struct emu_driver *d;
    char err[256];
    size_t count, bytes;
    unsigned char *p;
    KIRQL old;
    size_t i;
    CHECK(argc > 2);
    emu_kernel_init(2);

    d = emu_driver_load(argv[1], err, sizeof(err));
    if (d == NULL)
        fprintf(stderr, "%s\n", err);
    CHECK(d != NULL);
    CHECK(strcmp(emu_driver_name(d), "drv_leaky") == 0);
    CHECK(emu_driver_from_object(emu_driver_object(d)) == d);
    emu_pool_outstanding(d, &count, &bytes);
    CHECK(count == 3 && bytes == 148);
    emu_pool_outstanding(NULL, &count, &bytes);
    CHECK(count == 0);
    CHECK(emu_violation_count() == 0);
    CHECK(emu_driver_unload(d) == STATUS_SUCCESS);
    kt_expect_only(EMU_RULE_POOL_LEAK, 1);
    {
        char buf[4096];
        FILE *f = fmemopen(buf, sizeof(buf), "w");
        emu_violations_print(f, false);
        fclose(f);
        CHECK(strstr(buf, "VIOLATION [pool-leak] module=drv_leaky") != NULL);
        CHECK(strstr(buf, "2 allocation(s), 48 bytes with tag 'Leak'") != NULL);
        f = fmemopen(buf, sizeof(buf), "w");
        emu_violations_print(f, true);
        fclose(f);
        CHECK(strstr(buf, "\"rule\": \"pool-leak\"") != NULL);
        CHECK(strstr(buf, "\"module\": \"drv_leaky\"") != NULL);
    }
    emu_violations_reset();

    /* Reload: the same object, a fresh image and fresh accounts; each
       unload reports that image's own leak once. */
    d = emu_driver_load(argv[1], err, sizeof(err));
    CHECK(d != NULL);
    CHECK(emu_driver_reload(d) == STATUS_SUCCESS);
    kt_expect_only(EMU_RULE_POOL_LEAK, 1);
    emu_pool_outstanding(d, &count, &bytes);
    CHECK(count == 3 && bytes == 148);
    CHECK(emu_driver_unload(d) == STATUS_SUCCESS);
    kt_expect_only(EMU_RULE_POOL_LEAK, 2);
    emu_violations_reset();

    /* A failing DriverEntry: status in err, no DriverUnload, its leak reported. */
    CHECK(emu_driver_load(argv[2], err, sizeof(err)) == NULL);
    CHECK(strstr(err, "DriverEntry of drv_failing failed: 0xC00000A3") != NULL);
    kt_expect_only(EMU_RULE_POOL_LEAK, 1);
    emu_violations_reset();
    CHECK(emu_driver_load("/nonexistent/drv.so", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "cannot load /nonexistent/drv.so") != NULL);

    /* Zeroing, and a tag mismatch. */
    p = ExAllocatePool2(POOL_FLAG_NON_PAGED, 64, 'tseT');
    CHECK(p != NULL);
    for (i = 0; i < 64; i++)
        CHECK(p[i] == 0);
    CHECK(ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED, 8, 'tseT') == NULL);
    emu_pool_outstanding(NULL, &count, &bytes);
    CHECK(count == 1 && bytes == 64);
    ExFreePoolWithTag(p, 'gnrW');
    kt_expect_only(EMU_RULE_POOL_WRONG_TAG, 1);
    emu_pool_outstanding(NULL, &count, &bytes);
    CHECK(count == 0 && bytes == 0);
    emu_violations_reset();

    /* A double free and a pointer that is no block: findings, not a crash,
       and nothing at the pointer is read (an ASan build would say so). */
    p = ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, 'tseT');
    ExFreePoolWithTag(p, 'tseT');
    CHECK(emu_violation_count() == 0);
    ExFreePoolWithTag(p, 'tseT');
    kt_expect_only(EMU_RULE_POOL_DOUBLE_FREE, 1);
    {
        static UCHAR not_pool[64];
        char buf[2048];
        FILE *f;
        ExFreePool(not_pool + 48);
        kt_expect_only(EMU_RULE_POOL_DOUBLE_FREE, 2);
        f = fmemopen(buf, sizeof(buf), "w");
        emu_violations_print(f, false);
        fclose(f);
        CHECK(strstr(buf, "already freed (0xC2, 0x7)") != NULL);
        CHECK(strstr(buf, "not a pool block (0xC2, 0x46)") != NULL);
    }
    emu_pool_outstanding(NULL, &count, &bytes);
    CHECK(count == 0 && bytes == 0);
    emu_violations_reset();

    /* Paged pool at DISPATCH_LEVEL; non-paged is fine there. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    p = ExAllocatePoolWithTag(NonPagedPoolNx, 8, 'tseT');
    ExFreePoolWithTag(p, 'tseT');
    CHECK(emu_violation_count() == 0);
    p = ExAllocatePoolWithTag(PagedPool, 8, 'tseT');
    KeLowerIrql(old);
    ExFreePoolWithTag(p, 'tseT');
    kt_expect_only(EMU_RULE_IRQL, 1);
    emu_kernel_shutdown();
    printf("ok\n");
    return 0;
}
