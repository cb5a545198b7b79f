using System.Runtime.InteropServices;

namespace TimeBill.Core.Model;

/// <summary>Native buffers holding matrices quantized at load (the stored bytes <see cref="WeightSegment"/>s point into); freed together.</summary>
internal sealed unsafe class NativeWeightStore : IDisposable
{
    private readonly List<nint> _buffers = [];

    /// <summary>Bytes allocated.</summary>
    public long Bytes { get; private set; }

    /// <summary>A new 64-byte-aligned buffer of <paramref name="bytes"/> bytes, valid until <see cref="Dispose"/>.</summary>
    public byte* Allocate(long bytes)
    {
        var buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
        _buffers.Add((nint)buffer);
        Bytes += bytes;
        return buffer;
    }

    /// <summary>Frees every buffer.</summary>
    public void Dispose()
    {
        foreach (var buffer in _buffers) NativeMemory.AlignedFree((void*)buffer);
        _buffers.Clear();
        Bytes = 0;
    }
}
