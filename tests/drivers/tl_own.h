/*
 * tl_own: NBLs of a test driver's own, for the drivers that originate
 * receive indications (the correct own_resources.c and the broken
 * bad_nbl_*.c). One NBL pool per filter module, NBLs with one NET_BUFFER
 * and TL_OWN_BYTES of data each, the data filled with a byte pattern.
 */
#ifndef TL_OWN_H
#define TL_OWN_H

#include "testlwf.h"

#define TL_OWN_BYTES 64

/* The pool, in Module->DriverData. Called from TlOnAttach / TlOnDetach. */
VOID TlOwnAttach(_In_ PTL_MODULE Module);
VOID TlOwnDetach(_In_ PTL_MODULE Module);

/* One NBL whose SourceHandle is the module's filter handle, or NULL. */
_IRQL_requires_max_(DISPATCH_LEVEL) PNET_BUFFER_LIST TlOwnAllocate(_In_ PTL_MODULE Module);
_IRQL_requires_max_(DISPATCH_LEVEL) VOID TlOwnFree(_In_ PNET_BUFFER_LIST Nbl);

/* The first data byte of an NBL of TlOwnAllocate. */
PUCHAR TlOwnData(_In_ PNET_BUFFER_LIST Nbl);

/* Whether an NBL handed to the module is one of its own. */
BOOLEAN TlOwnIsMine(_In_ PTL_MODULE Module, _In_ PNET_BUFFER_LIST Nbl);

#endif
