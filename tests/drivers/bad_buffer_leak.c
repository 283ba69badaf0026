/*
 * bad_buffer_leak: an MDL and a NET_BUFFER that nothing frees.
 *
 * The bug: each module keeps a small header buffer described by an MDL
 * (NdisAllocateMdl) and a NET_BUFFER over it from a NET_BUFFER pool of its
 * own, for frames it prepends. Its detach frees the pool and the memory but
 * forgets NdisFreeNetBuffer and NdisFreeMdl. SDV's NdisAllocateMdl and
 * NdisAllocateNetBuffer rules: free every MDL and NET_BUFFER allocated.
 *
 * On Windows: both are lost for good; the NDIS verifier reports them.
 *
 * Expected finding: resource-leak naming this driver at DriverUnload, one
 * for the MDL(s) and one for the NET_BUFFER(s) (and the pool, which lives on
 * while a NET_BUFFER of it is allocated).
 */
#include "testlwf.h"

typedef struct _BL_STATE {
    UCHAR Header[64];
    PMDL Mdl;
    NDIS_HANDLE NbPool;
    PNET_BUFFER Nb;
} BL_STATE, *PBL_STATE;

static VOID BlAttach(PTL_MODULE Module)
{
    NET_BUFFER_POOL_PARAMETERS Params;
    PBL_STATE State;

    State = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, sizeof(*State), TL_POOL_TAG,
                                              NormalPoolPriority);
    if (State == NULL)
        return;
    NdisZeroMemory(State, sizeof(*State));
    NdisZeroMemory(&Params, sizeof(Params));
    Params.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    Params.Header.Revision = NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    Params.Header.Size = NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    Params.PoolTag = TL_POOL_TAG;
    State->NbPool = NdisAllocateNetBufferPool(Module->FilterHandle, &Params);
    State->Mdl = NdisAllocateMdl(Module->FilterHandle, State->Header, sizeof(State->Header));
    if (State->NbPool != NULL && State->Mdl != NULL)
        State->Nb = NdisAllocateNetBuffer(State->NbPool, State->Mdl, 0, sizeof(State->Header));
    Module->DriverData = State;
}

static VOID BlDetach(PTL_MODULE Module)
{
    PBL_STATE State = Module->DriverData;

    if (State == NULL)
        return;
    /* BUG: no NdisFreeNetBuffer(State->Nb) and no NdisFreeMdl(State->Mdl). */
    if (State->NbPool != NULL)
        NdisFreeNetBufferPool(State->NbPool);
    NdisFreeMemory(State, 0, 0);
    Module->DriverData = NULL;
}

static VOID BlCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    UNREFERENCED_PARAMETER(Chars);
    TlOnAttach = BlAttach;
    TlOnDetach = BlDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_buffer_leak", BlCustomize, NULL, 0);
}
