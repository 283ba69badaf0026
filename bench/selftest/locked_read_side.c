/*
 * A read side that takes an interlocked increment: check_no_lock.sh must
 * reject it (test read_side_check_catches_lock, WILL_FAIL), which proves the
 * check on hotlwf.so can fail.
 */
long HlSelftestCounter;

void HlEpochReadEnter(void);
void HlEpochReadEnter(void)
{
    __atomic_fetch_add(&HlSelftestCounter, 1, __ATOMIC_SEQ_CST);
}
