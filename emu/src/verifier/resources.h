/*
 * resource-leak: NDIS objects a driver allocates besides pool (NBL and NB
 * pools, NBLs and NBs, MDLs, I/O work items, configuration handles,
 * generic objects, timer objects) are charged to the driver
 * whose code allocated them, per kind and tag, as pool is (ke_pool.c). At
 * unload, what a driver's accounts still hold is one `resource-leak`
 * finding per kind and tag.
 */
#ifndef NDISEMU_RESOURCES_H
#define NDISEMU_RESOURCES_H

#include <stdint.h>

struct emu_driver;

enum emu_res_kind {
    EMU_RES_NBL_POOL,
    EMU_RES_NB_POOL,
    EMU_RES_NBL,
    EMU_RES_NB,
    EMU_RES_MDL,
    EMU_RES_WORKITEM,
    EMU_RES_CONFIG,         /* NdisOpenConfigurationEx handles (no tag: charged to 0) */
    EMU_RES_GENERIC_OBJECT, /* NdisAllocateGenericObject */
    EMU_RES_TIMER,          /* NdisAllocateTimerObject */
    EMU_RES_KIND_COUNT
};

struct emu_res_acct;

/*
 * The account of the driver whose code is at `caller`, for this kind and
 * tag: charge it once per object, and keep it to release the object. NULL
 * when out of memory (nothing is charged then).
 */
struct emu_res_acct *emu_res_account(enum emu_res_kind kind, uint32_t tag, const void *caller);
/*
 * Charges one object, the heap block at `obj`. A driver's objects are left
 * to the verifier: like leaked pool (ke_pool.c), a leak of them is a
 * finding at unload, not a LeakSanitizer report at exit.
 */
void emu_res_charge(struct emu_res_acct *a, const void *obj);
/* Another heap block of an object already charged (an NBL's context area). */
void emu_res_charge_part(struct emu_res_acct *a, const void *block);
void emu_res_release(struct emu_res_acct *a);
/* At unload: report and retire the driver's accounts. */
void emu_resources_check_driver(const struct emu_driver *d, const char *name);

#endif
