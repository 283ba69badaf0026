/*
 * The Windows transport: the driver's control device, opened per IOCTL.
 * Windows folds the IRP's NTSTATUS into a Win32 error; the two statuses the
 * size convention of ioctl.h depends on are mapped back so the callers above
 * behave the same on both systems.
 */
#include "transport.h"

#include <stdio.h>
#include <windows.h>

#include "hotlwf/ioctl.h"

static void win_error(char *err, size_t err_len, const char *what, const char *device, DWORD code)
{
    char text[256];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code,
                             0, text, sizeof(text), NULL);
    /* FormatMessage ends its text with CR LF, which would split our line. */
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == '.'))
        text[--n] = '\0';
    if (n == 0)
        snprintf(text, sizeof(text), "error %lu", (unsigned long)code);
    snprintf(err, err_len, "%s %s: %s", what, device, text);
}

int lwf_device_ioctl(const char *device, uint32_t code, const void *in, size_t in_len, void *out,
                     size_t out_cap, uint32_t *ntstatus, size_t *returned, char *err,
                     size_t err_len)
{
    WCHAR wpath[MAX_PATH];
    DWORD got = 0;

    if (device == NULL)
        device = "\\\\.\\hotlwf";
    if (in_len > MAXDWORD || out_cap > MAXDWORD) {
        snprintf(err, err_len, "request too large");
        return -1;
    }
    if (MultiByteToWideChar(CP_UTF8, 0, device, -1, wpath, MAX_PATH) == 0) {
        snprintf(err, err_len, "bad device name %s", device);
        return -1;
    }
    HANDLE h = CreateFileW(wpath, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        win_error(err, err_len, "cannot open", device, GetLastError());
        return -1;
    }
    BOOL ok = DeviceIoControl(h, code, (LPVOID)in, (DWORD)in_len, out, (DWORD)out_cap, &got, NULL);
    DWORD e = ok ? ERROR_SUCCESS : GetLastError();
    CloseHandle(h);
    switch (e) {
    case ERROR_SUCCESS:
        *ntstatus = HL_STATUS_SUCCESS;
        break;
    case ERROR_MORE_DATA:
        *ntstatus = HL_STATUS_BUFFER_OVERFLOW;
        break;
    case ERROR_INSUFFICIENT_BUFFER:
        *ntstatus = HL_STATUS_BUFFER_TOO_SMALL;
        got = 0;
        break;
    default:
        win_error(err, err_len, "DeviceIoControl failed on", device, e);
        return -1;
    }
    *returned = got;
    return 0;
}
