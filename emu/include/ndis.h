/*
 * ndisemu's <ndis.h>: the NDIS 6 API a lightweight filter uses, with the
 * WDK's names, types, macros and signatures, so that a WDK filter driver
 * compiles against it unchanged. Kernel types come from <wdm.h>.
 *
 * Split by concern: ndis/types.h (status, handles, headers, memory),
 * ndis/nbl.h (MDL, NET_BUFFER, NET_BUFFER_LIST, pools), ndis/oid.h (OIDs,
 * status and PnP indications), ndis/filter.h (the filter interface),
 * ndis/control.h (link state, reset, statistics, offload, power payloads),
 * ndis/misc.h (locks, events, work items, configuration, devices).
 */
#ifndef NDISEMU_NDIS_H
#define NDISEMU_NDIS_H

#include <wdm.h>

#include "ndis/types.h"
#include "ndis/nbl.h"
#include "ndis/oid.h"
#include "ndis/filter.h"
#include "ndis/control.h"
#include "ndis/misc.h"

#endif
