/*
 * ndisemu's <wdm.h>: the WDK kernel-mode API an NDIS lightweight filter
 * uses, with the WDK's names, types and signatures, so that a WDK driver
 * compiles against it unchanged. Functions are exported by libndisemu.so;
 * intrinsics and inline helpers are static inline here.
 */
#ifndef _WDMDDK_
#define _WDMDDK_
#ifndef NDISEMU_WDM_H
#define NDISEMU_WDM_H

#include <ntdef.h>
#include <wdm/interlocked.h>
#include <wdm/rtl.h>
#include <wdm/ke.h>
#include <wdm/ex.h>
#include <wdm/io.h>

#endif
#endif
