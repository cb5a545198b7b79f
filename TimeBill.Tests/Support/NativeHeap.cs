using System.Runtime.InteropServices;

namespace TimeBill.Tests.Support;

/// <summary>
/// Bytes the C heap has handed out and not taken back (glibc's mallinfo2 over every arena: chunks in use plus mapped
/// blocks). libtorch's CPU allocator and the kernels' native buffers come from it, so a native leak shows here exactly,
/// without the noise resident memory carries (the GC decommitting pages that were never touched, arenas not trimmed).
/// It still moves by a few MiB either way between equal rounds of work (the runtime's and libtorch's own caches), so a
/// bound on it catches a leak of kilobytes per request, not of bytes.
/// </summary>
internal static class NativeHeap
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 Query();

    /// <summary>The bytes in use, or null where the C library has no mallinfo2 (not glibc, or glibc before 2.33).</summary>
    public static long? InUseBytes()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var info = Query();
            return (long)(info.Uordblks + info.Hblkhd);
        }
        catch (EntryPointNotFoundException) { return null; }
        catch (DllNotFoundException) { return null; }
    }
}
