using TimeBill.Kernels.Quantized;
using System.Text;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Checkpoints.Gguf;

namespace TimeBill.Tests.Gguf;

/// <summary>The GGUF container: every value type round-trips, and every malformed header is a ModelLoadException naming the field.</summary>
public sealed class GgufFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gguf-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    [Fact]
    public void EveryValueTypeAndNestedArraysRoundTrip()
    {
        var metadata = new List<KeyValuePair<string, GgufValue>>
        {
            new("u8", GgufValue.Of((byte)200)), new("i8", GgufValue.Of((sbyte)-5)), new("u16", GgufValue.Of((ushort)60000)),
            new("i16", GgufValue.Of((short)-30000)), new("u32", GgufValue.Of(4_000_000_000u)), new("i32", GgufValue.Of(-2_000_000_000)),
            new("f32", GgufValue.Of(1.5f)), new("bool", GgufValue.Of(true)), new("str", GgufValue.Of("héllo ▁ 🙂")),
            new("u64", GgufValue.Of(ulong.MaxValue)), new("i64", GgufValue.Of(long.MinValue)), new("f64", GgufValue.Of(Math.PI)),
            new("strings", GgufValue.Of(GgufArray.Of(new[] { "a", "", "ü" }))),
            new("floats", GgufValue.Of(GgufArray.Of(new[] { 1f, -2f }))),
            new("empty", GgufValue.Of(GgufArray.Of(Array.Empty<int>()))),
            new("nested", GgufValue.Of(GgufArray.Of(new[] { GgufArray.Of(new[] { 1L, 2L }), GgufArray.Of(new[] { true }) }))),
        };
        var values = Enumerable.Range(0, 64).Select(i => i * 0.25f).ToArray();
        string path = PathOf("all.gguf");
        GgufWriter.Write(path, metadata,
        [
            new("a", [64], GgmlType.F32, () => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray()),
            new("b", [4, 2], GgmlType.F16, () => new byte[16]),
        ], alignment: 64);

        using var file = GgufFile.Open(path);
        Assert.Equal(3u, file.Version);
        Assert.Equal(64, file.Alignment);
        foreach (var (key, value) in metadata) Assert.Equal(Describe(value), Describe(file.Metadata[key]));
        Assert.Equal(ulong.MaxValue, file.Metadata["u64"].Value);
        Assert.Null(file.Metadata["u64"].AsInteger());
        Assert.Equal(-2_000_000_000, file.Integer("i32"));
        Assert.Equal(["a", "", "ü"], file.Array<string>("strings")!);
        Assert.All(file.Tensors.Values, t => Assert.Equal(0, (t.Offset - file.DataStart) % 64));
        Assert.Equal(values, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.Data(file.Tensor("a"))).ToArray());
        Assert.Equal([2L, 4L], file.Tensor("b").Shape);
    }

    [Fact]
    public void AFileReachedThroughASymbolicLinkOpensAtItsTargetsLength()
    {
        // Model caches (the Hugging Face hub's snapshots among them) hand out symbolic links to the files.
        var values = Enumerable.Range(0, 32).Select(i => (float)i).ToArray();
        string target = PathOf("target.gguf"), link = PathOf("link.gguf");
        GgufWriter.Write(target, [new("general.architecture", GgufValue.Of("llama"))],
            [new("a", [32], GgmlType.F32, () => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray())]);
        File.CreateSymbolicLink(link, target);

        using var file = GgufFile.Open(link);
        Assert.Equal(new FileInfo(target).Length, file.FileLength);
        Assert.Equal(values, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.Data(file.Tensor("a"))).ToArray());
    }

    private static string Describe(GgufValue value) => value.Value switch
    {
        GgufArray a => $"{a.ElementType}[{string.Join(",", a.Items.Cast<object>().Select(i => i is GgufArray inner ? Describe(GgufValue.Of(inner)) : i.ToString()))}]",
        var v => $"{value.Type}:{v}",
    };

    [Fact]
    public void WrongTypeOfAKnownKeyIsNamed()
    {
        string path = PathOf("typed.gguf");
        GgufWriter.Write(path, [new("general.name", GgufValue.Of(5u)), new("n", GgufValue.Of(-1))], []);
        using var file = GgufFile.Open(path);
        Assert.Contains("'general.name'", Assert.Throws<ModelLoadException>(() => file.String("general.name")).Message);
        Assert.Contains("[1, 10]", Assert.Throws<ModelLoadException>(() => file.Int32("n", 1, 10)).Message);
    }

    [Fact]
    public void EveryTruncationIsAModelLoadException()
    {
        byte[] bytes = Small().ToArray();
        for (int length = 0; length < bytes.Length; length++)
        {
            string path = PathOf($"cut{length}.gguf");
            File.WriteAllBytes(path, bytes[..length]);
            var e = Assert.Throws<ModelLoadException>(() => GgufFile.Open(path).Dispose());
            Assert.Equal(path, e.Path);
            File.Delete(path);
        }
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "magic", "not a GGUF file" },
        { "version1", "version 1 is not supported" },
        { "bigEndian", "big-endian" },
        { "tensorCount", "tensor_count" },
        { "metadataCount", "metadata_kv_count" },
        { "arrayLength", "array length" },
        { "valueType", "unknown value type 13" },
        { "stringLength", "string length" },
        { "utf8", "not valid UTF-8" },
        { "bool", "must be 0 or 1" },
        { "duplicateKey", "appears twice" },
        { "alignmentType", "general.alignment" },
        { "alignmentValue", "power of two" },
        { "tensorType", "IQ2_XXS (16)" },
        { "unknownTensorType", "unknown type 99" },
        { "dims", "n_dims is 5" },
        { "zeroDim", "dimension 1 is 0" },
        { "hugeDim", "must be 1..2^40" },
        { "block", "not a whole number of Q8_0 blocks" },
        { "misaligned", "not a multiple of the alignment" },
        { "beyond", "truncated: tensor 'w'" },
        { "duplicateTensor", "listed twice" },
        { "overlap", "overlap" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void MalformedHeaderNamesTheField(string corruption, string expected)
    {
        string path = PathOf(corruption + ".gguf");
        File.WriteAllBytes(path, Small(corruption).ToArray());
        var e = Assert.Throws<ModelLoadException>(() => GgufFile.Open(path).Dispose());
        Assert.Contains(expected, e.Message);
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void RandomByteFlipsOnlyEverGiveAModelLoadException()
    {
        byte[] bytes = Small().ToArray();
        var random = new Random(1234);
        string path = PathOf("flip.gguf");
        for (int trial = 0; trial < 400; trial++)
        {
            var mutated = (byte[])bytes.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--) mutated[random.Next(mutated.Length)] ^= (byte)(1 << random.Next(8));
            File.WriteAllBytes(path, mutated);
            try { GgufFile.Open(path).Dispose(); }
            catch (ModelLoadException) { }
        }
    }

    /// <summary>A small valid file (two metadata entries, two tensors), or one with the named corruption.</summary>
    private static MemoryStream Small(string? corruption = null)
    {
        var stream = new MemoryStream();
        var w = new BinaryWriter(stream);
        void Text(string s, ulong? length = null)
        {
            var b = corruption == "utf8" && s == "general.name" ? [0x67, 0xff, 0x6e] : Encoding.UTF8.GetBytes(s);
            w.Write(length ?? (ulong)b.Length);
            w.Write(b);
        }
        w.Write(corruption == "magic" ? 0x46554748u : GgufFile.Magic);
        w.Write(corruption switch { "version1" => 1u, "bigEndian" => 0x03000000u, _ => 3u });
        w.Write(corruption == "tensorCount" ? 1UL << 40 : corruption == "duplicateTensor" ? 3UL : 2UL);
        int keys = 3 + (corruption is "duplicateKey" or "alignmentType" or "alignmentValue" ? 1 : 0);
        w.Write(corruption == "metadataCount" ? 1UL << 50 : (ulong)keys);

        Text("general.name");
        w.Write(corruption == "valueType" ? 13u : 8u);
        Text("tiny", corruption == "stringLength" ? 1UL << 40 : null);
        Text("flag");
        w.Write(7u);
        w.Write(corruption == "bool" ? (byte)2 : (byte)1);
        Text("list");
        w.Write(9u);
        w.Write(5u);
        w.Write(corruption == "arrayLength" ? 1UL << 60 : 2UL);
        w.Write(7); w.Write(8);
        if (corruption == "duplicateKey") { Text("flag"); w.Write(7u); w.Write((byte)0); }
        if (corruption == "alignmentType") { Text("general.alignment"); w.Write(5u); w.Write(32); }
        if (corruption == "alignmentValue") { Text("general.alignment"); w.Write(4u); w.Write(48u); }

        void Tensor(string name, ulong[] dims, uint type, ulong offset)
        {
            Text(name);
            w.Write((uint)dims.Length);
            foreach (ulong d in dims) w.Write(d);
            w.Write(type);
            w.Write(offset);
        }
        uint wType = corruption switch { "tensorType" => 16u, "unknownTensorType" => 99u, "block" => 8u, _ => 0u };
        ulong[] wDims = corruption switch
        {
            "dims" => [4, 2, 1, 1, 1],
            "zeroDim" => [4, 0],
            "hugeDim" => [4, 1UL << 41],
            "block" => [4, 2],
            _ => [4, 2],
        };
        Tensor("w", wDims, wType, corruption switch { "misaligned" => 8UL, "beyond" => 1UL << 20, _ => 0UL });
        Tensor(corruption == "duplicateTensor" ? "w" : "b", [4], 0, corruption == "overlap" ? 0UL : 32UL);
        if (corruption == "duplicateTensor") Tensor("c", [4], 0, 64);
        w.Flush();
        while (stream.Length % 32 != 0) stream.WriteByte(0);
        stream.Write(new byte[corruption == "duplicateTensor" ? 80 : 48]);
        return stream;
    }
}
