/* ndisemu's <ntddk.h>: a superset of <wdm.h>; nothing an LWF needs beyond it. */
#ifndef _NTDDK_
#define _NTDDK_

#include <wdm.h>

NTKERNELAPI BOOLEAN NTAPI KeAreAllApcsDisabled(void);

#endif
