/*
 * The verifier's handle table (verifier/handles.c) and rule table
 * (verifier/rules.h) and the report's per-rule keep limit and totals.
 */
#include <string.h>

#include "handles.h"
#include "ktest.h"

int main(void)
{
    static char a[64], b[64], never[64];
    char buf[8192];
    FILE *f;
    unsigned r, s;

    /* Every rule has an id, a Windows equivalent and a description; ids are unique. */
    for (r = 0; r < EMU_RULE_COUNT; r++) {
        CHECK(emu_rule_id((enum emu_rule)r)[0] != '\0');
        CHECK(emu_rule_windows((enum emu_rule)r)[0] != '\0');
        CHECK(emu_rule_description((enum emu_rule)r)[0] != '\0');
        for (s = 0; s < r; s++)
            CHECK(strcmp(emu_rule_id((enum emu_rule)r), emu_rule_id((enum emu_rule)s)) != 0);
    }
    CHECK(strcmp(emu_rule_id(EMU_RULE_POOL_DOUBLE_FREE), "pool-double-free") == 0);

    /* Issue, check, retire: each state is told apart without touching the memory. */
    emu_handle_issue(a, EMU_HANDLE_NBL_POOL);
    emu_handle_issue(b, EMU_HANDLE_IO_WORKITEM);
    CHECK(emu_handle_valid(a, EMU_HANDLE_NBL_POOL));
    CHECK(!emu_handle_valid(a, EMU_HANDLE_NB_POOL));
    CHECK(emu_handle_check(b, EMU_HANDLE_IO_WORKITEM, "test"));
    CHECK(emu_violation_count() == 0);
    emu_handle_retire(a);
    CHECK(!emu_handle_check(a, EMU_HANDLE_NBL_POOL, "NdisFreeNetBufferListPool"));
    CHECK(!emu_handle_check(b, EMU_HANDLE_NBL_POOL, "NdisAllocateNetBufferList"));
    CHECK(!emu_handle_check(never, EMU_HANDLE_PARTY, "NdisFSendNetBufferLists"));
    CHECK(!emu_handle_check(NULL, EMU_HANDLE_FILTER_DRIVER, "NdisFDeregisterFilterDriver"));
    kt_expect_only(EMU_RULE_STALE_HANDLE, 4);
    f = fmemopen(buf, sizeof(buf), "w");
    emu_violations_print(f, false);
    fclose(f);
    CHECK(strstr(buf, "that was already freed") != NULL);
    CHECK(strstr(buf, "is a NDIS I/O work item handle, not a NET_BUFFER_LIST pool handle") != NULL);
    CHECK(strstr(buf, "NDIS never issued it") != NULL);
    emu_violations_reset();
    /* An address handed out again is live again. */
    emu_handle_issue(a, EMU_HANDLE_NB_POOL);
    CHECK(emu_handle_valid(a, EMU_HANDLE_NB_POOL));
    CHECK(!emu_handle_valid(a, EMU_HANDLE_NBL_POOL));
    emu_handle_retire(a);
    emu_handle_retire(b);

    /* The first EMU_KEEP_PER_RULE findings of a rule are kept, all are counted,
       and another rule's finding is kept after a flood of the first. */
    for (r = 0; r < EMU_KEEP_PER_RULE + 10; r++)
        emu_violation(EMU_RULE_NBL_LEAK, "m", "cb", "flood %u", r);
    emu_violation(EMU_RULE_IRQL, "m", "cb", "after the flood");
    CHECK(emu_violation_count_rule(EMU_RULE_NBL_LEAK) == EMU_KEEP_PER_RULE + 10);
    f = fmemopen(buf, sizeof(buf), "w");
    emu_violations_print_totals(f);
    fclose(f);
    CHECK(strstr(buf, "\"nbl-leak\": {\"total\": 60, \"kept\": 50, \"windows\": ") != NULL);
    CHECK(strstr(buf, "\"irql\": {\"total\": 1, \"kept\": 1,") != NULL);
    f = fmemopen(buf, sizeof(buf), "w");
    emu_violations_print(f, true);
    fclose(f);
    CHECK(strstr(buf, "after the flood") != NULL);
    CHECK(strstr(buf, "flood 49") != NULL && strstr(buf, "flood 50") == NULL);
    emu_violations_reset();
    printf("ok\n");
    return 0;
}
