/*
 * The NDIS contract version a driver is written for, as the WDK's ndis.h
 * derives it: the project defines one of NDIS60, NDIS61, NDIS620, NDIS630
 * (or a later NDIS6xx) and ndis.h defines NDIS_FILTER_MAJOR/MINOR_VERSION,
 * NDIS_PROTOCOL_MAJOR/MINOR_VERSION and the cumulative NDIS_SUPPORT_NDIS6xx
 * (0 or 1) from it. When several are defined the highest wins.
 *
 * One difference: given none, the WDK falls back to a legacy NDIS 4.0
 * protocol on x64 (no NDIS 6 filter API at all); ndisemu runs NDIS 6 drivers
 * only, so it assumes NDIS630, the newest contract its headers cover.
 * Structures gain members under NDIS_SUPPORT_NDIS61/620/630 exactly where
 * the WDK adds them, so a 6.0 driver sees the 6.0 layout.
 * Included by <ndis.h>; never include it directly.
 */
#ifndef NDISEMU_NDIS_VERSION_H
#define NDISEMU_NDIS_VERSION_H

#if defined(NDIS_FILTER_MAJOR_VERSION) || defined(NDIS_FILTER_MINOR_VERSION) ||                  \
    defined(NDIS_PROTOCOL_MAJOR_VERSION) || defined(NDIS_PROTOCOL_MINOR_VERSION)
#error "NDIS: the driver defines a version macro ndis.h reserves; define NDIS6xx instead"
#endif
#if defined(NDIS_MINIPORT_DRIVER)
#error "ndisemu runs lightweight filters: NDIS_MINIPORT_DRIVER is not supported"
#endif

#if defined(NDIS687)
#define NDIS_FILTER_MINOR_VERSION 87
#elif defined(NDIS686)
#define NDIS_FILTER_MINOR_VERSION 86
#elif defined(NDIS685)
#define NDIS_FILTER_MINOR_VERSION 85
#elif defined(NDIS684)
#define NDIS_FILTER_MINOR_VERSION 84
#elif defined(NDIS683)
#define NDIS_FILTER_MINOR_VERSION 83
#elif defined(NDIS682)
#define NDIS_FILTER_MINOR_VERSION 82
#elif defined(NDIS681)
#define NDIS_FILTER_MINOR_VERSION 81
#elif defined(NDIS680)
#define NDIS_FILTER_MINOR_VERSION 80
#elif defined(NDIS670)
#define NDIS_FILTER_MINOR_VERSION 70
#elif defined(NDIS660)
#define NDIS_FILTER_MINOR_VERSION 60
#elif defined(NDIS651)
#define NDIS_FILTER_MINOR_VERSION 51
#elif defined(NDIS650)
#define NDIS_FILTER_MINOR_VERSION 50
#elif defined(NDIS640)
#define NDIS_FILTER_MINOR_VERSION 40
#elif defined(NDIS630)
#define NDIS_FILTER_MINOR_VERSION 30
#elif defined(NDIS620)
#define NDIS_FILTER_MINOR_VERSION 20
#elif defined(NDIS61)
#define NDIS_FILTER_MINOR_VERSION 1
#elif defined(NDIS60)
#define NDIS_FILTER_MINOR_VERSION 0
#elif defined(NDIS51) || defined(NDIS50) || defined(NDIS40)
#error "ndisemu runs NDIS 6 drivers only: define NDIS60 .. NDIS630"
#else
#define NDIS630 1 /* see above: ndisemu's default */
#define NDIS_FILTER_MINOR_VERSION 30
#endif
#define NDIS_FILTER_MAJOR_VERSION 6
#define NDIS_PROTOCOL_MAJOR_VERSION NDIS_FILTER_MAJOR_VERSION
#define NDIS_PROTOCOL_MINOR_VERSION NDIS_FILTER_MINOR_VERSION

/* Cumulative: a 6.20 driver sees NDIS_SUPPORT_NDIS620, _NDIS61 and _NDIS6. */
#define NDISEMU_SUPPORTS(minor) (NDIS_FILTER_MINOR_VERSION >= (minor))
#define NDIS_SUPPORT_NDIS6 1
#define NDIS_SUPPORT_NDIS61 NDISEMU_SUPPORTS(1)
#define NDIS_SUPPORT_NDIS620 NDISEMU_SUPPORTS(20)
#define NDIS_SUPPORT_NDIS630 NDISEMU_SUPPORTS(30)
#define NDIS_SUPPORT_NDIS640 NDISEMU_SUPPORTS(40)
#define NDIS_SUPPORT_NDIS650 NDISEMU_SUPPORTS(50)
#define NDIS_SUPPORT_NDIS651 NDISEMU_SUPPORTS(51)
#define NDIS_SUPPORT_NDIS660 NDISEMU_SUPPORTS(60)
#define NDIS_SUPPORT_NDIS670 NDISEMU_SUPPORTS(70)
#define NDIS_SUPPORT_NDIS680 NDISEMU_SUPPORTS(80)
#define NDIS_SUPPORT_NDIS681 NDISEMU_SUPPORTS(81)
#define NDIS_SUPPORT_NDIS682 NDISEMU_SUPPORTS(82)
#define NDIS_SUPPORT_NDIS683 NDISEMU_SUPPORTS(83)
#define NDIS_SUPPORT_NDIS684 NDISEMU_SUPPORTS(84)
#define NDIS_SUPPORT_NDIS685 NDISEMU_SUPPORTS(85)
#define NDIS_SUPPORT_NDIS686 NDISEMU_SUPPORTS(86)
#define NDIS_SUPPORT_NDIS687 NDISEMU_SUPPORTS(87)
#if defined(NDIS60) || defined(NDIS61)
#define NDIS_SUPPORT_60_COMPATIBLE_API 1
#else
#define NDIS_SUPPORT_60_COMPATIBLE_API 0
#endif
#define NDIS_LEGACY_DRIVER 0
#define NDIS_LEGACY_PROTOCOL 0
#define NDIS_LEGACY_MINIPORT 0

/* Values NdisGetVersion returns. */
#define NDIS_RUNTIME_VERSION_60 (6 << 16)
#define NDIS_RUNTIME_VERSION_61 ((6 << 16) | 1)
#define NDIS_RUNTIME_VERSION_620 ((6 << 16) | 20)
#define NDIS_RUNTIME_VERSION_630 ((6 << 16) | 30)
#define NDIS_RUNTIME_VERSION_640 ((6 << 16) | 40)
#define NDIS_RUNTIME_VERSION_650 ((6 << 16) | 50)
#define NDIS_RUNTIME_VERSION_660 ((6 << 16) | 60)
#define NDIS_RUNTIME_VERSION_670 ((6 << 16) | 70)
#define NDIS_RUNTIME_VERSION_680 ((6 << 16) | 80)

/* Section pragmas (#pragma NDIS_INIT_FUNCTION(DriverEntry)): meaningless here. */
#define NDIS_INIT_FUNCTION(_F) alloc_text(INIT, _F)
#define NDIS_PAGABLE_FUNCTION(_F) alloc_text(PAGE, _F)
#define NDIS_PAGEABLE_FUNCTION(_F) alloc_text(PAGE, _F)

/*
 * The context-type declarations: on Windows they record, in the PDB, which
 * type a context pointer has (for !ndiskd); no run-time effect. Here they
 * only check that the type exists. Used as statements inside a function.
 */
#define NDIS_DECLARE_CONTEXT_INNER(type, purpose) ((void)sizeof(type))
#define NDIS_DECLARE_MINIPORT_DRIVER_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_MINIPORT_ADAPTER_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_MINIPORT_ADDDEVICE_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_MINIPORT_INTERRUPT_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_MINIPORT_SGLIST_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_MINIPORT_SHARED_DMA_ASYNC_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_FILTER_DRIVER_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_FILTER_MODULE_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_PROTOCOL_DRIVER_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_PROTOCOL_OPEN_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_CO_CL_AF_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_CO_CL_VC_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_CO_CM_AF_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_CO_CM_VC_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)
#define NDIS_DECLARE_CO_MINIPORT_VC_CONTEXT(type) NDIS_DECLARE_CONTEXT_INNER(type, 0)

#define EXPORT

#endif
