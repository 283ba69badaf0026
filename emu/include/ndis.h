/*
 * ndisemu's <ndis.h>: the NDIS 6 API a lightweight filter uses, with the
 * WDK's names, types, macros and signatures, so that a WDK filter driver
 * compiles against it unchanged. Kernel types come from <wdm.h>.
 *
 * Split by concern: ndis/version.h (NDIS6xx -> NDIS_SUPPORT_*, versions),
 * ndis/types.h (status, handles, headers, memory),
 * ndis/nbl.h (MDL, NET_BUFFER, NET_BUFFER_LIST, pools), ndis/oid.h (OIDs,
 * status and PnP indications), ndis/offload.h (NDIS_OFFLOAD), ndis/filter.h (the filter interface),
 * ndis/control.h (offload parameters and encapsulation, power payloads),
 * ndis/misc.h (locks, events, work items, configuration, devices).
 */
#ifndef NDISEMU_NDIS_H
#define NDISEMU_NDIS_H

#include <wdm.h>

#include "ndis/version.h"
#include "ndis/types.h"
#include "ndis/nbl.h"
#include "ndis/oid.h"
#include "ndis/offload.h"
#include "ndis/filter.h"
#include "ndis/control.h"
#include "ndis/misc.h"

#endif
