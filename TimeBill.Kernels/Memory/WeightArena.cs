using System.Runtime.InteropServices;

namespace TimeBill.Kernels.Memory;

/// <summary>
/// One block of native memory that holds a model's kernel weights, handed out front to back. The block is
/// aligned to 2 MiB and, on Linux, advised for transparent huge pages before it is first touched: a decode step
/// streams every weight once, and with 2 MiB pages it needs 512× fewer TLB entries, so the hardware prefetchers
/// are not stopped at every 4 KiB page boundary. Where the advice is refused the memory works the same, on small
/// pages. Freed by <see cref="Dispose"/> or, if that is forgotten, by the finalizer.
/// </summary>
internal sealed unsafe class WeightArena : IDisposable
{
    /// <summary>Alignment of the block: one transparent huge page.</summary>
    public const int HugePageBytes = 2 << 20;

    /// <summary>Alignment of every slice: one cache line.</summary>
    public const int SliceAlignment = 64;

    private readonly Block _block;
    private long _used;

    /// <summary>Reserves <paramref name="bytes"/> bytes (rounded up to whole huge pages).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is not positive.</exception>
    public WeightArena(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Capacity = (bytes + HugePageBytes - 1) / HugePageBytes * HugePageBytes;
        _block = new Block(Capacity);
        HugePagesAdvised = OperatingSystem.IsLinux() && Advise(_block.Address, (nuint)Capacity);
    }

    /// <summary>Bytes reserved.</summary>
    public long Capacity { get; }

    /// <summary>Bytes handed out so far.</summary>
    public long Used => _used;

    /// <summary>Whether the operating system accepted the huge-page advice (it may still back some pages with small ones).</summary>
    public bool HugePagesAdvised { get; }

    /// <summary>Bytes <paramref name="count"/> elements of <typeparamref name="T"/> take, including slice alignment.</summary>
    public static long BytesFor<T>(long count) where T : unmanaged =>
        (count * sizeof(T) + SliceAlignment - 1) / SliceAlignment * SliceAlignment;

    /// <summary>The next <paramref name="count"/> elements, 64-byte aligned, uninitialised, valid until the arena is disposed.</summary>
    /// <exception cref="InvalidOperationException">The arena is full.</exception>
    /// <exception cref="ObjectDisposedException">The arena was disposed.</exception>
    public T* Take<T>(long count) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ObjectDisposedException.ThrowIf(_block.IsClosed, this);
        long bytes = BytesFor<T>(count);
        if (_used + bytes > Capacity)
            throw new InvalidOperationException($"the weight arena holds {Capacity} bytes; {_used} are used and {bytes} more were asked.");
        var pointer = (T*)((byte*)_block.Address + _used);
        _used += bytes;
        return pointer;
    }

    /// <summary>Frees the memory; pointers handed out become invalid.</summary>
    public void Dispose() => _block.Dispose();

    private static bool Advise(nint address, nuint length)
    {
        const int MadviseHugePage = 14;
        try
        {
            return madvise(address, length, MadviseHugePage) == 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int madvise(nint address, nuint length, int advice);

    private sealed class Block : SafeHandle
    {
        public Block(long bytes) : base(0, ownsHandle: true)
        {
            SetHandle((nint)NativeMemory.AlignedAlloc((nuint)bytes, HugePageBytes));
            GC.AddMemoryPressure(bytes);
            _bytes = bytes;
        }

        private readonly long _bytes;

        public nint Address => handle;

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            NativeMemory.AlignedFree((void*)handle);
            GC.RemoveMemoryPressure(_bytes);
            return true;
        }
    }
}
