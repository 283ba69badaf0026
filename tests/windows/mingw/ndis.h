/*
 * <ndis.h> for the mingw-w64 compile check (driver-compiles-against-mingw-ddk).
 *
 * mingw-w64's own ddk/ndis.h cannot be used: it is an NDIS 5 header (no
 * NET_BUFFER_LIST, no filter driver API) and it does not even compile on its
 * own against mingw's newer user-mode ntddndis.h (both define
 * NDIS_REQUEST_TYPE). So this stands in for it with the two independent
 * mingw headers that are usable, the kernel headers (ntddk.h, wdm.h) and
 * ntddndis.h (NDIS_OBJECT_HEADER, OIDs, object types, media enums), plus the
 * shim that declares only what those two lack. Nothing here comes from
 * ndisemu's emu/include: a name the driver takes from ndisemu alone fails.
 */
#ifndef HOTLWF_TESTS_WINDOWS_MINGW_NDIS_H
#define HOTLWF_TESTS_WINDOWS_MINGW_NDIS_H

/* As the WDK's ndis.h does: the NDISxx a driver defines selects the API level. */
#if defined(NDIS60) && !defined(NDIS_SUPPORT_NDIS6)
#define NDIS_SUPPORT_NDIS6 1
#endif

#include <ntddk.h>
#include <ntddndis.h>
#include "../mingw_ndis6_shim.h"

#endif
