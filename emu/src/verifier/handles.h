/*
 * The handle table: every handle ndisemu gives a driver (filter driver and
 * filter module handles, the miniport's and protocol's handles that NBLs
 * name as their source, NBL / NB pools, NDIS I/O work items, control
 * device handles) is issued
 * here and retired when freed. A handle a driver passes back is looked up
 * here, never by reading the memory it points at: a freed handle's memory
 * may be gone or reused, so a magic number in it proves nothing (and
 * reading it is itself a use after free).
 *
 * Lookups take no lock (they are on the datapath); issue and retire are
 * serialized. A handle retired and not yet overwritten by a new one is
 * remembered as freed, which makes the finding say so.
 */
#ifndef NDISEMU_HANDLES_H
#define NDISEMU_HANDLES_H

#include <stdbool.h>

enum emu_handle_kind {
    EMU_HANDLE_PARTY = 1,      /* filter module, miniport or protocol (struct emu_party) */
    EMU_HANDLE_FILTER_DRIVER,  /* NdisFRegisterFilterDriver */
    EMU_HANDLE_NBL_POOL,       /* NdisAllocateNetBufferListPool */
    EMU_HANDLE_NB_POOL,        /* NdisAllocateNetBufferPool */
    EMU_HANDLE_IO_WORKITEM,    /* NdisAllocateIoWorkItem */
    EMU_HANDLE_DEVICE,         /* NdisRegisterDeviceEx */
    EMU_HANDLE_GENERIC_OBJECT, /* NdisAllocateGenericObject */
    EMU_HANDLE_TIMER,          /* NdisAllocateTimerObject */
    EMU_HANDLE_KIND_END
};

void emu_handle_issue(const void *h, enum emu_handle_kind kind);
void emu_handle_retire(const void *h);
/* Whether h is a live handle of this kind. No finding. */
bool emu_handle_valid(const void *h, enum emu_handle_kind kind);
/*
 * Like emu_handle_valid, but a handle that is not one is a `stale-handle`
 * finding naming api and saying what h is: freed, never issued, or a live
 * handle of another kind.
 */
bool emu_handle_check(const void *h, enum emu_handle_kind kind, const char *api);

#endif
