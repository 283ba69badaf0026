/*
 * tl_own: see tl_own.h.
 */
#include "tl_own.h"
#include "tl_frame.h"

VOID TlOwnAttach(PTL_MODULE Module)
{
    Module->DriverData = TlNblPoolAllocate(Module, TL_OWN_BYTES);
}

VOID TlOwnDetach(PTL_MODULE Module)
{
    if (Module->DriverData != NULL)
        NdisFreeNetBufferListPool(Module->DriverData);
    Module->DriverData = NULL;
}

PUCHAR TlOwnData(PNET_BUFFER_LIST Nbl)
{
    PNET_BUFFER Nb = NET_BUFFER_LIST_FIRST_NB(Nbl);
    return (PUCHAR)MmGetSystemAddressForMdlSafe(NET_BUFFER_CURRENT_MDL(Nb), NormalPagePriority) +
           NET_BUFFER_CURRENT_MDL_OFFSET(Nb);
}

PNET_BUFFER_LIST TlOwnAllocate(PTL_MODULE Module)
{
    PNET_BUFFER_LIST Nbl;

    if (Module->DriverData == NULL)
        return NULL;
    Nbl = NdisAllocateNetBufferAndNetBufferList(Module->DriverData, 0, 0, NULL, 0, TL_OWN_BYTES);
    if (Nbl == NULL)
        return NULL;
    Nbl->SourceHandle = Module->FilterHandle;
    NdisFillMemory(TlOwnData(Nbl), TL_OWN_BYTES, 0x5A);
    return Nbl;
}

VOID TlOwnFree(PNET_BUFFER_LIST Nbl)
{
    NdisFreeNetBufferList(Nbl);
}

BOOLEAN TlOwnIsMine(PTL_MODULE Module, PNET_BUFFER_LIST Nbl)
{
    return Nbl->SourceHandle == Module->FilterHandle;
}
