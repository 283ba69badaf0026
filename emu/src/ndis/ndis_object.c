/*
 * Generic objects (NdisAllocateGenericObject / NdisFreeGenericObject): an
 * NDIS_GENERIC_OBJECT followed by Size bytes for the caller, from pool with
 * the caller's tag. SDV's NdisAllocateGenericObject rule: every one is
 * freed. Each is charged to the driver whose code allocated it, per tag
 * (resources.h), so one never freed is a resource-leak at unload naming
 * the tag. The object's pool block is ndisemu's own (not charged as pool),
 * so the leak is reported once, under its kind.
 */
#include "ndis_internal.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "kernel.h"
#include "resources.h"

struct generic_object {
    struct emu_res_acct *acct;
    void *pad; /* keeps the NDIS_GENERIC_OBJECT 16-byte aligned */
    NDIS_GENERIC_OBJECT obj;
    /* Size bytes for the caller follow. */
};

PNDIS_GENERIC_OBJECT NdisAllocateGenericObject(PDRIVER_OBJECT DriverObject, ULONG Tag, USHORT Size)
{
    void *caller = __builtin_return_address(0);
    if (emu_fault_should_fail("NdisAllocateGenericObject", caller))
        return NULL;
    emu_irql_require_max("NdisAllocateGenericObject", DISPATCH_LEVEL);
    emu_pool_check_tag("NdisAllocateGenericObject", Tag, caller);
    struct generic_object *g = calloc(1, sizeof(*g) + Size);
    if (g == NULL)
        return NULL;
    g->obj.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    g->obj.Header.Revision = 1;
    g->obj.Header.Size = (USHORT)sizeof(g->obj);
    g->obj.Caller = caller;
    g->obj.CallersCaller = NULL; /* not known without frame pointers */
    g->obj.DriverObject = DriverObject;
    g->acct = emu_res_account(EMU_RES_GENERIC_OBJECT, Tag, caller);
    emu_res_charge(g->acct, g);
    emu_handle_issue(&g->obj, EMU_HANDLE_GENERIC_OBJECT);
    return &g->obj;
}

VOID NdisFreeGenericObject(PNDIS_GENERIC_OBJECT NdisObject)
{
    emu_irql_require_max("NdisFreeGenericObject", DISPATCH_LEVEL);
    if (!emu_handle_check(NdisObject, EMU_HANDLE_GENERIC_OBJECT, "NdisFreeGenericObject"))
        return;
    emu_handle_retire(NdisObject);
    struct generic_object *g =
        (struct generic_object *)((char *)NdisObject - offsetof(struct generic_object, obj));
    emu_res_release(g->acct);
    free(g);
}
