using TimeBill.Kernels.Memory;

namespace TimeBill.Tests.Kernels;

public unsafe class WeightArenaTests
{
    [Fact]
    public void SlicesAreCacheLineAlignedDisjointAndInsideTheHugePageAlignedBlock()
    {
        using var arena = new WeightArena(1000);
        Assert.Equal(WeightArena.HugePageBytes, arena.Capacity);
        float* first = arena.Take<float>(3);
        ushort* second = arena.Take<ushort>(5);
        float* third = arena.Take<float>(17);
        Assert.Equal(0, (long)first % WeightArena.HugePageBytes);
        Assert.Equal(0, (long)second % WeightArena.SliceAlignment);
        Assert.Equal(0, (long)third % WeightArena.SliceAlignment);
        Assert.True((byte*)second >= (byte*)(first + 3));
        Assert.True((byte*)third >= (byte*)(second + 5));
        Assert.Equal(4 * WeightArena.SliceAlignment, arena.Used); // 12 B, 10 B and 68 B round up to 64, 64 and 128
        for (int i = 0; i < 17; i++) third[i] = i;
        Assert.Equal(16f, third[16]);
    }

    [Fact]
    public void TakingBeyondTheCapacityOrAfterDisposeFailsClearly()
    {
        var arena = new WeightArena(WeightArena.HugePageBytes);
        arena.Take<byte>(WeightArena.HugePageBytes - 64);
        var full = Assert.Throws<InvalidOperationException>(() => arena.Take<float>(17));
        Assert.Contains("arena holds", full.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WeightArena(0));
        arena.Dispose();
        Assert.Throws<ObjectDisposedException>(() => arena.Take<float>(1));
    }
}

public class ReadBandwidthTests
{
    [Fact]
    public void MeasuresAPositiveFiniteRateAndRejectsBadArguments()
    {
        double bytesPerSecond = ReadBandwidth.Measure(threads: 2, bytes: 8L << 20, passes: 2);
        Assert.True(double.IsFinite(bytesPerSecond) && bytesPerSecond > 0, $"measured {bytesPerSecond} B/s");
        Assert.Throws<ArgumentOutOfRangeException>(() => ReadBandwidth.Measure(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReadBandwidth.Measure(1, bytes: 1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReadBandwidth.Measure(1, passes: 0));
    }
}
