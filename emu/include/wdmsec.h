/*
 * ndisemu's <wdmsec.h>: the SDDL strings for device objects. ndisemu's
 * control socket enforces "owner only" itself (devsock.h); the string is
 * provided so that drivers pass it to NdisRegisterDeviceEx unchanged.
 */
#ifndef _WDMSEC_H_
#define _WDMSEC_H_

#include <wdm.h>

/* "D:P(A;;GA;;;SY)(A;;GA;;;BA)": System and Administrators get all access. */
extern const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
extern const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL;
extern const UNICODE_STRING SDDL_DEVOBJ_KERNEL_ONLY;

#endif
