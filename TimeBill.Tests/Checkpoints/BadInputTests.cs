using System.Buffers.Binary;
using System.Text;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Model;

namespace TimeBill.Tests.Checkpoints;

/// <summary>Every kind of broken model folder gets a <see cref="ModelLoadException"/> naming the file and the problem.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("timebill-bad-").FullName;

    private const string Config = """
        {"architectures":["LlamaForCausalLM"],"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
         "num_attention_heads":2,"num_key_value_heads":1,"vocab_size":10,"max_position_embeddings":32,"rms_norm_eps":1e-5,"tie_word_embeddings":true}
        """;

    /// <summary>Tensors of the config above: name → shape.</summary>
    private static readonly (string Name, long[] Shape)[] Tensors =
    [
        ("model.embed_tokens.weight", [10, 8]), ("model.norm.weight", [8]),
        ("model.layers.0.input_layernorm.weight", [8]), ("model.layers.0.post_attention_layernorm.weight", [8]),
        ("model.layers.0.self_attn.q_proj.weight", [8, 8]), ("model.layers.0.self_attn.k_proj.weight", [4, 8]),
        ("model.layers.0.self_attn.v_proj.weight", [4, 8]), ("model.layers.0.self_attn.o_proj.weight", [8, 8]),
        ("model.layers.0.mlp.gate_proj.weight", [16, 8]), ("model.layers.0.mlp.up_proj.weight", [16, 8]),
        ("model.layers.0.mlp.down_proj.weight", [8, 16]),
    ];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string WriteFolder(string config = Config, IEnumerable<(string Name, long[] Shape)>? tensors = null, string dtype = "F32")
    {
        File.WriteAllText(Path.Combine(_folder, "config.json"), config);
        File.WriteAllBytes(Path.Combine(_folder, "model.safetensors"), SafeTensors(tensors ?? Tensors, dtype));
        return _folder;
    }

    internal static byte[] SafeTensors(IEnumerable<(string Name, long[] Shape)> tensors, string dtype = "F32")
    {
        int size = dtype == "F32" ? 4 : 2;
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * size;
            header.Append($"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + bytes}]}},");
            offset += bytes;
        }
        header.Length--;
        header.Append('}');
        return Frame(Encoding.UTF8.GetBytes(header.ToString()), new byte[offset]);
    }

    private static byte[] Frame(byte[] header, byte[] data)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    private ModelLoadException Fails(Action load, string fileName, string problem)
    {
        var error = Assert.Throws<ModelLoadException>(load);
        Assert.Contains(fileName, error.Path);
        Assert.Contains(problem, error.Message);
        return error;
    }

    [Fact]
    public void ValidFolderLoads()
    {
        using var model = CausalLanguageModel.Load(WriteFolder());
        Assert.Equal(1, model.Config.LayerCount);
    }

    [Fact]
    public void MissingFolder() => Fails(() => CausalLanguageModel.Load(Path.Combine(_folder, "absent")), "absent", "model folder not found");

    [Fact]
    public void MissingConfig() => Fails(() => CausalLanguageModel.Load(_folder), "config.json", "file not found");

    [Fact]
    public void MissingWeights()
    {
        File.WriteAllText(Path.Combine(_folder, "config.json"), Config);
        Fails(() => CausalLanguageModel.Load(_folder), _folder, "no model.safetensors");
    }

    [Fact]
    public void InvalidConfigJson() => Fails(() => CausalLanguageModel.Load(WriteFolder("{\"hidden_size\": 8,")), "config.json", "invalid JSON");

    [Fact]
    public void UnknownArchitecture() =>
        Fails(() => CausalLanguageModel.Load(WriteFolder(Config.Replace("LlamaForCausalLM", "GPTNeoXForCausalLM"))), "config.json", "unknown architecture GPTNeoXForCausalLM");

    [Fact]
    public void MissingTensor() =>
        Fails(() => CausalLanguageModel.Load(WriteFolder(tensors: Tensors.Where(t => t.Name != "model.norm.weight"))), _folder, "missing tensor 'model.norm.weight'");

    [Fact]
    public void ExtraTensor() =>
        Fails(() => CausalLanguageModel.Load(WriteFolder(tensors: Tensors.Append(("model.layers.1.mlp.up_proj.weight", [16L, 8L])))), _folder, "unexpected tensor(s)");

    [Fact]
    public void ShapeMismatch() =>
        Fails(() => CausalLanguageModel.Load(WriteFolder(tensors: Tensors.Select(t => t.Name == "model.norm.weight" ? (t.Name, new long[] { 9 }) : t))),
            "model.safetensors", "has shape [9] but the config needs [8]");

    [Fact]
    public void UnsupportedDtype() => Fails(() => CausalLanguageModel.Load(WriteFolder(dtype: "I8")), "model.safetensors", "unsupported dtype 'I8'");

    [Fact]
    public void TruncatedData()
    {
        WriteFolder();
        string path = Path.Combine(_folder, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        Fails(() => CausalLanguageModel.Load(_folder), "model.safetensors", "truncated");
    }

    [Fact]
    public void FileShorterThanTheHeaderLength()
    {
        WriteFolder();
        File.WriteAllBytes(Path.Combine(_folder, "model.safetensors"), [1, 2, 3]);
        Fails(() => CausalLanguageModel.Load(_folder), "model.safetensors", "truncated");
    }

    [Fact]
    public void HeaderLengthBeyondTheFile()
    {
        WriteFolder();
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 2);
        File.WriteAllBytes(Path.Combine(_folder, "model.safetensors"), bytes);
        Fails(() => CausalLanguageModel.Load(_folder), "model.safetensors", "runs beyond the end of the file");
    }

    [Fact]
    public void HeaderThatIsNotJson()
    {
        WriteFolder();
        File.WriteAllBytes(Path.Combine(_folder, "model.safetensors"), Frame("{not json"u8.ToArray(), []));
        Fails(() => CausalLanguageModel.Load(_folder), "model.safetensors", "header is not valid JSON");
    }

    [Fact]
    public void OffsetsThatDoNotMatchTheShape()
    {
        WriteFolder();
        var header = """{"model.norm.weight":{"dtype":"F32","shape":[8],"data_offsets":[0,16]}}"""u8.ToArray();
        File.WriteAllBytes(Path.Combine(_folder, "model.safetensors"), Frame(header, new byte[16]));
        Fails(() => CausalLanguageModel.Load(_folder), "model.safetensors", "do not hold 32 bytes");
    }

    [Fact]
    public void ShardedCheckpointLoadsAndAShardMissingFromTheIndexIsNamed()
    {
        File.WriteAllText(Path.Combine(_folder, "config.json"), Config);
        var first = Tensors.Take(5).ToArray();
        var second = Tensors.Skip(5).ToArray();
        File.WriteAllBytes(Path.Combine(_folder, "model-00001-of-00002.safetensors"), SafeTensors(first));
        File.WriteAllBytes(Path.Combine(_folder, "model-00002-of-00002.safetensors"), SafeTensors(second));
        string Map(IEnumerable<(string Name, long[] Shape)> ts, string file) => string.Join(",", ts.Select(t => $"\"{t.Name}\":\"{file}\""));
        File.WriteAllText(Path.Combine(_folder, "model.safetensors.index.json"),
            $"{{\"weight_map\":{{{Map(first, "model-00001-of-00002.safetensors")},{Map(second, "model-00002-of-00002.safetensors")}}}}}");
        using (var model = CausalLanguageModel.Load(_folder)) Assert.Equal(10, model.Config.VocabSize);

        File.Delete(Path.Combine(_folder, "model-00002-of-00002.safetensors"));
        Fails(() => CausalLanguageModel.Load(_folder), "model-00002-of-00002.safetensors", "file not found");
    }

    [Theory]
    [InlineData("F32")]
    [InlineData("BF16")]
    [InlineData("F16")]
    public void SupportedDtypesWidenToTheSameFloat32Values(string dtype)
    {
        // 1.5 and −2.25 are exact in all three formats.
        byte[] data = dtype switch
        {
            "F32" => [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2.25f)],
            "BF16" => [.. BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(1.5f) >> 16)), .. BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(-2.25f) >> 16))],
            _ => [.. BitConverter.GetBytes((Half)1.5f), .. BitConverter.GetBytes((Half)(-2.25f))],
        };
        string path = Path.Combine(_folder, "one.safetensors");
        File.WriteAllBytes(path, Frame(Encoding.UTF8.GetBytes($"{{\"x\":{{\"dtype\":\"{dtype}\",\"shape\":[2],\"data_offsets\":[0,{data.Length}]}}}}"), data));
        Assert.Equal([1.5f, -2.25f], SafeTensorsFile.ReadFloat32(SafeTensorsFile.Open(path).Entries["x"]));
    }

    [Theory]
    [InlineData("F32")]
    [InlineData("BF16")]
    [InlineData("F16")]
    public void RangesReadTheSameValuesAsTheWholeTensor(string dtype)
    {
        var random = new Random(4);
        var values = Enumerable.Range(0, 37).Select(_ => (float)(Half)(random.NextSingle() * 8 - 4)).ToArray(); // exact in all three
        byte[] data = dtype switch
        {
            "F32" => [.. values.SelectMany(v => BitConverter.GetBytes(v))],
            "BF16" => [.. values.SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)))],
            _ => [.. values.SelectMany(v => BitConverter.GetBytes((Half)v))],
        };
        string path = Path.Combine(_folder, "ranges.safetensors");
        File.WriteAllBytes(path, Frame(Encoding.UTF8.GetBytes($"{{\"x\":{{\"dtype\":\"{dtype}\",\"shape\":[37],\"data_offsets\":[0,{data.Length}]}}}}"), data));
        var entry = SafeTensorsFile.Open(path).Entries["x"];
        var whole = SafeTensorsFile.ReadFloat32(entry);
        foreach (var (start, count) in new[] { (0, 37), (1, 17), (36, 1), (20, 0) })
        {
            var part = new float[count];
            SafeTensorsFile.ReadFloat32(entry, start, part);
            Assert.Equal(whole.AsSpan(start, count).ToArray(), part);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => SafeTensorsFile.ReadFloat32(entry, 30, new float[8]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SafeTensorsFile.ReadFloat32(entry, -1, new float[1]));
    }
}
