/*
 * SAL 2 annotations (sal.h, specstrings.h, driverspecs.h, concurrencysal.h).
 * The WDK's static analysis (PREfast, SDV) reads them; gcc and clang do not,
 * so every annotation expands to nothing. The whole family is here, not only
 * what ndisemu's own headers use: a WDK driver must compile unchanged, and
 * the IRQL and lock contracts the annotations state are what ndisemu checks
 * at run time. A name missing here is a bug.
 */
#ifndef NDISEMU_SAL_H
#define NDISEMU_SAL_H

/* Inputs. */
#define _In_
#define _In_opt_
#define _In_z_
#define _In_opt_z_
#define _In_reads_(s)
#define _In_reads_opt_(s)
#define _In_reads_z_(s)
#define _In_reads_opt_z_(s)
#define _In_reads_or_z_(s)
#define _In_reads_or_z_opt_(s)
#define _In_reads_bytes_(s)
#define _In_reads_bytes_opt_(s)
#define _In_reads_to_ptr_(p)
#define _In_reads_to_ptr_opt_(p)
#define _In_reads_to_ptr_z_(p)
#define _In_reads_to_ptr_opt_z_(p)
#define _In_range_(l, h)
#define _In_defensive_(a)
#define _In_count_(s)
#define _In_bytecount_(s)
#define _In_NLS_string_(s)
#define _In_ptr_
#define _In_opt_ptr_

/* Outputs. */
#define _Out_
#define _Out_opt_
#define _Out_z_
#define _Out_writes_(s)
#define _Out_writes_opt_(s)
#define _Out_writes_z_(s)
#define _Out_writes_opt_z_(s)
#define _Out_writes_to_(s, c)
#define _Out_writes_to_opt_(s, c)
#define _Out_writes_all_(s)
#define _Out_writes_all_opt_(s)
#define _Out_writes_bytes_(s)
#define _Out_writes_bytes_opt_(s)
#define _Out_writes_bytes_to_(s, c)
#define _Out_writes_bytes_to_opt_(s, c)
#define _Out_writes_bytes_all_(s)
#define _Out_writes_bytes_all_opt_(s)
#define _Out_writes_to_ptr_(p)
#define _Out_writes_to_ptr_opt_(p)
#define _Out_writes_to_ptr_z_(p)
#define _Out_writes_to_ptr_opt_z_(p)
#define _Out_range_(l, h)
#define _Out_defensive_(a)
#define _Out_bytecap_(s)
#define _Out_cap_(s)
#define _Out_ptr_
#define _Out_opt_ptr_

/* In and out. */
#define _Inout_
#define _Inout_opt_
#define _Inout_z_
#define _Inout_opt_z_
#define _Inout_updates_(s)
#define _Inout_updates_opt_(s)
#define _Inout_updates_z_(s)
#define _Inout_updates_opt_z_(s)
#define _Inout_updates_to_(s, c)
#define _Inout_updates_to_opt_(s, c)
#define _Inout_updates_all_(s)
#define _Inout_updates_all_opt_(s)
#define _Inout_updates_bytes_(s)
#define _Inout_updates_bytes_opt_(s)
#define _Inout_updates_bytes_to_(s, c)
#define _Inout_updates_bytes_to_opt_(s, c)
#define _Inout_updates_bytes_all_(s)
#define _Inout_updates_bytes_all_opt_(s)
#define _Inout_defensive_(a)
#define _Inout_ptr_
#define _Inout_opt_ptr_

/* Pointers to pointers. */
#define _Outptr_
#define _Outptr_opt_
#define _Outptr_result_maybenull_
#define _Outptr_opt_result_maybenull_
#define _Outptr_result_z_
#define _Outptr_opt_result_z_
#define _Outptr_result_maybenull_z_
#define _Outptr_opt_result_maybenull_z_
#define _Outptr_result_nullonfailure_
#define _Outptr_opt_result_nullonfailure_
#define _Outptr_result_buffer_(s)
#define _Outptr_opt_result_buffer_(s)
#define _Outptr_result_buffer_maybenull_(s)
#define _Outptr_opt_result_buffer_maybenull_(s)
#define _Outptr_result_buffer_to_(s, c)
#define _Outptr_opt_result_buffer_to_(s, c)
#define _Outptr_result_buffer_all_(s)
#define _Outptr_opt_result_buffer_all_(s)
#define _Outptr_result_buffer_all_maybenull_(s)
#define _Outptr_result_bytebuffer_(s)
#define _Outptr_opt_result_bytebuffer_(s)
#define _Outptr_result_bytebuffer_maybenull_(s)
#define _Outptr_opt_result_bytebuffer_maybenull_(s)
#define _Outptr_result_bytebuffer_to_(s, c)
#define _Outptr_opt_result_bytebuffer_to_(s, c)
#define _Outptr_result_bytebuffer_all_(s)
#define _Outptr_opt_result_bytebuffer_all_(s)
#define _Outptr_result_bytebuffer_all_maybenull_(s)
#define _Outref_
#define _Outref_result_maybenull_
#define _Outref_result_buffer_(s)
#define _Outref_result_bytebuffer_(s)
#define _Outref_result_nullonfailure_
#define _COM_Outptr_
#define _COM_Outptr_opt_
#define _COM_Outptr_result_maybenull_
#define _COM_Outptr_opt_result_maybenull_
#define _Deref_out_
#define _Deref_out_opt_
#define _Deref_out_z_
#define _Deref_out_opt_z_
#define _Deref_out_range_(l, h)
#define _Deref_in_range_(l, h)
#define _Deref_inout_range_(l, h)
#define _Deref_pre_z_
#define _Deref_post_z_
#define _Deref_pre_maybenull_
#define _Deref_post_maybenull_
#define _Deref_post_null_
#define _Deref_pre_notnull_
#define _Deref_post_notnull_
#define _Deref_ret_z_
#define _Deref_ret_range_(l, h)
#define _Deref2_pre_readonly_
#define _Reserved_
#define _Const_
#define _Notref_
#define _Notnull_
#define _Maybenull_
#define _Null_
#define _Null_terminated_
#define _NullNull_terminated_
#define _Points_to_data_
#define _Literal_
#define _Strict_type_match_
#define _Frees_ptr_
#define _Frees_ptr_opt_
#define _Post_ptr_invalid_

/* Preconditions and postconditions. */
#define _Pre_
#define _Post_
#define _Pre_notnull_
#define _Pre_maybenull_
#define _Pre_null_
#define _Pre_valid_
#define _Pre_opt_valid_
#define _Pre_invalid_
#define _Pre_unknown_
#define _Pre_z_
#define _Pre_readonly_
#define _Pre_writeonly_
#define _Pre_defensive_
#define _Pre_satisfies_(e)
#define _Pre_equal_to_(e)
#define _Pre_readable_size_(s)
#define _Pre_writable_size_(s)
#define _Pre_readable_byte_size_(s)
#define _Pre_writable_byte_size_(s)
#define _Pre_cap_(s)
#define _Pre_bytecap_(s)
#define _Pre_count_(s)
#define _Pre_bytecount_(s)
#define _Post_notnull_
#define _Post_maybenull_
#define _Post_null_
#define _Post_valid_
#define _Post_invalid_
#define _Post_z_
#define _Post_maybez_
#define _Post_defensive_
#define _Post_satisfies_(e)
#define _Post_equal_to_(e)
#define _Post_readable_size_(s)
#define _Post_writable_size_(s)
#define _Post_readable_byte_size_(s)
#define _Post_writable_byte_size_(s)
#define _Post_count_(s)
#define _Post_bytecount_(s)
#define _Post_same_lock_(a, b)
#define _Unchanged_(e)
#define _Satisfies_(e)
#define _Readable_bytes_(s)
#define _Writable_bytes_(s)
#define _Readable_elements_(s)
#define _Writable_elements_(s)

/* Return values and conditions. */
#define _Ret_
#define _Ret_valid_
#define _Ret_opt_valid_
#define _Ret_maybenull_
#define _Ret_notnull_
#define _Ret_null_
#define _Ret_z_
#define _Ret_maybenull_z_
#define _Ret_range_(l, h)
#define _Ret_writes_(s)
#define _Ret_writes_z_(s)
#define _Ret_writes_maybenull_(s)
#define _Ret_writes_maybenull_z_(s)
#define _Ret_writes_to_(s, c)
#define _Ret_writes_to_maybenull_(s, c)
#define _Ret_writes_bytes_(s)
#define _Ret_writes_bytes_maybenull_(s)
#define _Ret_writes_bytes_to_(s, c)
#define _Ret_writes_bytes_to_maybenull_(s, c)
#define _Result_nullonfailure_
#define _Result_zeroonfailure_
#define _Success_(e)
#define _Return_type_success_(e)
#define _Check_return_
#define _Must_inspect_result_
#define _Use_decl_annotations_
#define _When_(c, a)
#define _At_(t, a)
#define _At_buffer_(t, i, c, a)
#define _On_failure_(a)
#define _Always_(a)
#define _Group_(a)
#define _Inexpressible_(e)
#define _Translates_Win32_to_HRESULT_(e)
#define _Translates_NTSTATUS_to_HRESULT_(e)
#define _Translates_last_error_to_HRESULT_
#define _Raises_SEH_exception_
#define _Maybe_raises_SEH_exception_
#define _Enum_is_bitflag_
#define _Callback_
#define _Function_class_(x)
#define _Printf_format_string_
#define _Printf_format_string_params_(n)
#define _Scanf_format_string_
#define _Scanf_s_format_string_
#define _Format_string_impl_(k, p)

/* Structure fields. */
#define _Field_size_(s)
#define _Field_size_opt_(s)
#define _Field_size_part_(s, c)
#define _Field_size_part_opt_(s, c)
#define _Field_size_full_(s)
#define _Field_size_full_opt_(s)
#define _Field_size_bytes_(s)
#define _Field_size_bytes_opt_(s)
#define _Field_size_bytes_part_(s, c)
#define _Field_size_bytes_part_opt_(s, c)
#define _Field_size_bytes_full_(s)
#define _Field_size_bytes_full_opt_(s)
#define _Field_range_(l, h)
#define _Field_z_
#define _Struct_size_bytes_(s)

/* Analysis hints. */
#define _Analysis_assume_(e)
#define _Analysis_assume_nullterminated_(p)
#define _Analysis_assume_lock_held_(l)
#define _Analysis_assume_lock_not_held_(l)
#define _Analysis_assume_lock_acquired_(l)
#define _Analysis_assume_lock_released_(l)
#define _Analysis_assume_same_lock_(a, b)
#define _Analysis_mode_(m)
#define _Analysis_noreturn_
#define _Analysis_suppress_lock_checking_(l)
#define _Function_ignore_lock_checking_(l)
#define __analysis_assume(e)
#define __assume_bound(e)

/* Locks (concurrencysal.h). */
#define _Interlocked_
#define _Interlocked_operand_
#define _Requires_lock_held_(l)
#define _Requires_lock_not_held_(l)
#define _Requires_exclusive_lock_held_(l)
#define _Requires_shared_lock_held_(l)
#define _Requires_no_locks_held_
#define _Acquires_lock_(l)
#define _Acquires_exclusive_lock_(l)
#define _Acquires_shared_lock_(l)
#define _Acquires_nonreentrant_lock_(l)
#define _Releases_lock_(l)
#define _Releases_exclusive_lock_(l)
#define _Releases_shared_lock_(l)
#define _Releases_nonreentrant_lock_(l)
#define _Guarded_by_(l)
#define _Write_guarded_by_(l)
#define _Lock_kind_mutex_
#define _Lock_kind_event_
#define _Lock_kind_semaphore_
#define _Lock_kind_spin_lock_
#define _Lock_kind_critical_section_
#define _Create_lock_level_(n)
#define _Has_lock_kind_(k)
#define _Has_lock_level_(n)
#define _Lock_level_order_(a, b)
#define _No_competing_thread_
#define _Benign_race_begin_
#define _Benign_race_end_
#define _No_competing_thread_begin_
#define _No_competing_thread_end_

/* Kernel (driverspecs.h). */
#define _IRQL_requires_(irql)
#define _IRQL_requires_max_(irql)
#define _IRQL_requires_min_(irql)
#define _IRQL_requires_same_
#define _IRQL_raises_(irql)
#define _IRQL_saves_
#define _IRQL_saves_global_(kind, param)
#define _IRQL_restores_
#define _IRQL_restores_global_(kind, param)
#define _IRQL_always_function_max_(irql)
#define _IRQL_always_function_min_(irql)
#define _IRQL_uses_cancel_
#define _IRQL_is_cancel_
#define _IRQL_limited_to_(irql)
#define _IRQL_inconsistent_with_(irql)
#define _IRQL_lowers_(irql)
#define _Dispatch_type_(x)
#define _Kernel_float_saved_
#define _Kernel_float_restored_
#define _Kernel_float_used_
#define _Kernel_clear_do_init_(y)
#define _Kernel_IoGetDmaAdapter_
#define _Kernel_requires_resource_held_(r)
#define _Kernel_requires_resource_not_held_(r)
#define _Kernel_acquires_resource_(r)
#define _Kernel_releases_resource_(r)
#define _Kernel_ptr_
#define _User_ptr_
#define _Flt_CompletionContext_Outptr_
#define _Drivertype_(t)
#define _Must_inspect_irql_
#define _Requires_IRQL_(irql)
#define __drv_maxIRQL(irql)
#define __drv_minIRQL(irql)
#define __drv_setsIRQL(irql)
#define __drv_requiresIRQL(irql)
#define __drv_raisesIRQL(irql)
#define __drv_savesIRQL
#define __drv_savesIRQLGlobal(kind, param)
#define __drv_restoresIRQL
#define __drv_restoresIRQLGlobal(kind, param)
#define __drv_sameIRQL
#define __drv_useCancelIRQL
#define __drv_isCancelIRQL
#define __drv_maxFunctionIRQL(irql)
#define __drv_minFunctionIRQL(irql)
#define __drv_dispatchType(x)
#define __drv_dispatchType_other
#define __drv_completionType(x)
#define __drv_functionClass(x)
#define __drv_aliasesMem
#define __drv_allocatesMem(kind)
#define __drv_freesMem(kind)
#define __drv_when(c, a)
#define __drv_at(e, a)
#define __drv_arg(e, a)
#define __drv_fun(a)
#define __drv_ret(a)
#define __drv_in(a)
#define __drv_out(a)
#define __drv_in_deref(a)
#define __drv_out_deref(a)
#define __drv_deref(a)
#define __drv_acquiresResource(k)
#define __drv_releasesResource(k)
#define __drv_acquiresExclusiveResource(k)
#define __drv_releasesExclusiveResource(k)
#define __drv_acquiresCriticalRegion
#define __drv_releasesCriticalRegion
#define __drv_acquiresCancelSpinLock
#define __drv_releasesCancelSpinLock
#define __drv_acquiresPriorityRegion
#define __drv_releasesPriorityRegion
#define __drv_mustHold(k)
#define __drv_mustHoldCriticalRegion
#define __drv_mustHoldCancelSpinLock
#define __drv_mustHoldPriorityRegion
#define __drv_neverHold(k)
#define __drv_neverHoldCriticalRegion
#define __drv_neverHoldCancelSpinLock
#define __drv_neverHoldPriorityRegion
#define __drv_clearDoInit(y)
#define __drv_floatSaved
#define __drv_floatRestored
#define __drv_floatUsed
#define __drv_interlocked
#define __drv_inTry
#define __drv_notInTry
#define __drv_formatString(k)
#define __drv_preferredFunction(f, w)
#define __drv_reportError(m)
#define __drv_strictType(t, m)
#define __drv_strictTypeMatch(m)
#define __drv_valueIs(v)
#define __drv_constant
#define __drv_nonConstant
#define __drv_isObjectPointer
#define __drv_Mode_impl(x)
#define __drv_typeConst 0
#define __drv_typeCond 1
#define __drv_typeBitset 2
#define __drv_typeExpr 3
#define __internal_kernel_driver
#define __kernel_code
#define __kernel_driver
#define __user_driver
#define __user_code

/* SAL 1 spellings still seen in samples. */
#define __in
#define __in_opt
#define __in_z
#define __in_opt_z
#define __in_bcount(s)
#define __in_bcount_opt(s)
#define __in_ecount(s)
#define __in_ecount_opt(s)
#define __out
#define __out_opt
#define __out_z
#define __out_bcount(s)
#define __out_bcount_opt(s)
#define __out_bcount_part(s, c)
#define __out_ecount(s)
#define __out_ecount_opt(s)
#define __out_ecount_part(s, c)
#define __inout
#define __inout_opt
#define __inout_z
#define __inout_bcount(s)
#define __inout_bcount_opt(s)
#define __inout_ecount(s)
#define __inout_ecount_opt(s)
#define __deref_out
#define __deref_out_opt
#define __deref_out_ecount(s)
#define __deref_out_bcount(s)
#define __deref_opt_out
#define __deref_inout
#define __field_bcount(s)
#define __field_ecount(s)
#define __field_bcount_opt(s)
#define __field_ecount_opt(s)
#define __checkReturn
#define __success(e)
#define __reserved
#define __nullterminated
#define __notnull
#define __maybenull
#define __callback
#define __override
#define __format_string
#define __typefix(t)
#define __range(l, h)
#define __bcount(s)
#define __ecount(s)
#define __post
#define __pre
#define __valid
#define __notvalid
#define __readonly

#endif
