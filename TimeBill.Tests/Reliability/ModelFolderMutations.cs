using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace TimeBill.Tests.Reliability;

/// <summary>
/// A deterministic corpus of corrupted copies of a model folder (stories260K): every mutation a hostile or broken
/// download produces in the files a load reads — safetensors headers (truncation, header length, byte flips,
/// non-UTF-8 bytes, dtypes, shapes, offsets, duplicated names), config.json and generation_config.json values
/// (missing, ill-typed, out of range, non-finite, contradicting the tensors) and tokenizer.model bytes. Tensor data
/// is left alone: a flipped weight is a valid file with other weights, which no format can tell.
/// </summary>
internal static class ModelFolderMutations
{
    /// <summary>One corrupted copy: what it changes and how to apply it to a copied folder.</summary>
    public sealed record Mutation(string Name, Action<string> Apply, bool TokenizerOnly = false)
    {
        public override string ToString() => Name;
    }

    private const string Weights = "model.safetensors", Config = "config.json", Generation = "generation_config.json", Tokenizer = "tokenizer.model";

    /// <summary>Every mutation of the folder at <paramref name="source"/>, in a fixed order (the names are stable).</summary>
    public static IReadOnlyList<Mutation> All(string source)
    {
        byte[] weights = File.ReadAllBytes(Path.Combine(source, Weights));
        byte[] tokenizer = File.ReadAllBytes(Path.Combine(source, Tokenizer));
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(weights);
        string header = Encoding.UTF8.GetString(weights, 8, headerLength);
        var random = new Random(20261203);
        var list = new List<Mutation>();

        // Truncations: inside the length field, inside the header, at the data start, inside and at the end of the data.
        long[] cuts = [0, 3, 7, 8, 9, 100, headerLength / 2, headerLength + 7, headerLength + 8, headerLength + 9, weights.Length / 2, weights.Length - 4, weights.Length - 1];
        foreach (long cut in cuts) list.Add(new($"safetensors truncated to {cut} bytes", f => WriteBytes(f, Weights, weights[..(int)cut])));
        for (int i = 0; i < 12; i++)
        {
            int cut = random.Next(8 + headerLength, weights.Length);
            list.Add(new($"safetensors truncated to {cut} bytes (data)", f => WriteBytes(f, Weights, weights[..cut])));
        }

        // The header length field.
        foreach (long delta in new long[] { -9, -8, -2, -1, 1, 2, 8, 9 })
            list.Add(new($"safetensors header length {delta:+#;-#}", f => WriteBytes(f, Weights, WithHeaderLength(weights, (ulong)(headerLength + delta)))));
        foreach (ulong length in new ulong[] { 0, 1, (ulong)weights.Length, (ulong)weights.Length - 8, 1UL << 31, 1UL << 40, long.MaxValue, ulong.MaxValue })
            list.Add(new($"safetensors header length {length}", f => WriteBytes(f, Weights, WithHeaderLength(weights, length))));

        // Byte flips in the header, including bytes that are not UTF-8.
        for (int i = 0; i < 90; i++)
        {
            int at = 8 + random.Next(headerLength);
            byte value = (byte)random.Next(256);
            if (value == weights[at]) value ^= 0x20;
            list.Add(new($"safetensors header byte {at - 8} = 0x{value:x2}", f => WriteBytes(f, Weights, WithByte(weights, at, value))));
        }
        foreach (byte bad in new byte[] { 0x80, 0xC3, 0xFF, 0xFE, 0xED })
        {
            int at = 8 + header.IndexOf("model.embed_tokens", StringComparison.Ordinal) + 3;
            list.Add(new($"safetensors tensor name with byte 0x{bad:x2}", f => WriteBytes(f, Weights, WithByte(weights, at, bad))));
        }

        // Entries rewritten as JSON: dtypes, shapes, offsets, names.
        var root = JsonNode.Parse(header)!.AsObject();
        string[] names = [.. root.Select(p => p.Key).Where(k => k != "__metadata__")];
        string[] picks = [names[0], names[1], names[names.Length / 2], names[^1]];
        foreach (string name in picks)
        {
            foreach (string dtype in new[] { "F16", "BF16", "F64", "I8", "U8", "f32", "", "Q8_0" })
                list.Add(HeaderEdit($"safetensors '{name}' dtype {dtype}", weights, headerLength, root, h => h[name]!["dtype"] = dtype));
            list.Add(HeaderEdit($"safetensors '{name}' dtype 7", weights, headerLength, root, h => h[name]!["dtype"] = 7));
            var shape = root[name]!["shape"]!.AsArray().Select(d => (long)d!).ToArray();
            list.Add(HeaderEdit($"safetensors '{name}' shape first +1", weights, headerLength, root, h => h[name]!["shape"]![0] = shape[0] + 1));
            list.Add(HeaderEdit($"safetensors '{name}' shape first -1", weights, headerLength, root, h => h[name]!["shape"]![0] = shape[0] - 1));
            list.Add(HeaderEdit($"safetensors '{name}' shape negative", weights, headerLength, root, h => h[name]!["shape"]![0] = -shape[0]));
            list.Add(HeaderEdit($"safetensors '{name}' shape huge", weights, headerLength, root, h => h[name]!["shape"]![0] = long.MaxValue / 2));
            list.Add(HeaderEdit($"safetensors '{name}' shape extra dim", weights, headerLength, root, h => h[name]!["shape"]!.AsArray().Add(1)));
            list.Add(HeaderEdit($"safetensors '{name}' shape empty", weights, headerLength, root, h => h[name]!["shape"] = new JsonArray()));
            list.Add(HeaderEdit($"safetensors '{name}' shape as text", weights, headerLength, root, h => h[name]!["shape"] = "[64]"));
            list.Add(HeaderEdit($"safetensors '{name}' shape fractional", weights, headerLength, root, h => h[name]!["shape"]![0] = shape[0] + 0.5));
            if (shape.Length == 2 && shape[0] != shape[1])
                list.Add(HeaderEdit($"safetensors '{name}' shape transposed", weights, headerLength, root, h => h[name]!["shape"] = new JsonArray(shape[1], shape[0])));
            var offsets = root[name]!["data_offsets"]!.AsArray().Select(d => (long)d!).ToArray();
            foreach (var (label, begin, end) in new[]
            {
                ("begin +4", offsets[0] + 4, offsets[1]), ("end +4", offsets[0], offsets[1] + 4), ("both +4", offsets[0] + 4, offsets[1] + 4),
                ("both -4", offsets[0] - 4, offsets[1] - 4), ("swapped", offsets[1], offsets[0]), ("negative", -offsets[1], -offsets[0]),
                ("near 2^63", long.MaxValue - 8, long.MaxValue), ("beyond the file", offsets[0] + weights.Length, offsets[1] + weights.Length),
            })
                list.Add(HeaderEdit($"safetensors '{name}' data_offsets {label}", weights, headerLength, root, h => h[name]!["data_offsets"] = new JsonArray(begin, end)));
            list.Add(HeaderEdit($"safetensors '{name}' one data_offset", weights, headerLength, root, h => h[name]!["data_offsets"] = new JsonArray(offsets[0])));
            list.Add(HeaderEdit($"safetensors '{name}' offsets as text", weights, headerLength, root, h => h[name]!["data_offsets"] = new JsonArray("0", "4")));
            list.Add(HeaderEdit($"safetensors '{name}' removed", weights, headerLength, root, h => h.Remove(name)));
            list.Add(HeaderEdit($"safetensors '{name}' renamed", weights, headerLength, root, h => { var e = h[name]!; h.Remove(name); h[name + ".x"] = e; }));
            list.Add(HeaderEdit($"safetensors '{name}' entry not an object", weights, headerLength, root, h => h[name] = 1));
        }
        list.Add(HeaderEdit("safetensors header is an array", weights, headerLength, root, _ => { }, raw: "[1, 2, 3]"));
        list.Add(HeaderEdit("safetensors header is null", weights, headerLength, root, _ => { }, raw: "null"));
        list.Add(HeaderEdit("safetensors two entries share a range", weights, headerLength, root,
            h => h[names[2]]!["data_offsets"] = h[names[1]]!["data_offsets"]!.DeepClone()));
        foreach (string name in picks[..2])
        {
            // A duplicated key, written by hand: JSON objects may repeat names, and a reader must refuse it.
            string entry = root[name]!.ToJsonString();
            string duplicated = root.ToJsonString().Replace($"\"{name}\":{entry}", $"\"{name}\":{entry},\"{name}\":{entry}", StringComparison.Ordinal);
            list.Add(HeaderEdit($"safetensors '{name}' duplicated", weights, headerLength, root, _ => { }, raw: duplicated));
        }

        // config.json values.
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, Config)))!.AsObject();
        // rms_norm_eps and max_position_embeddings have defaults in transformers, so only the fields without one are removed.
        foreach (string field in new[] { "hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers", "vocab_size", "architectures" })
            list.Add(ConfigEdit($"config without {field}", config, c => c.Remove(field)));
        foreach (string field in new[] { "hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers", "num_key_value_heads", "vocab_size", "max_position_embeddings", "head_dim" })
            foreach (JsonNode? value in new JsonNode?[] { 0, -1, 2147483647, (long)int.MaxValue + 1, 1.5, "64", null, new JsonArray(64), true })
                list.Add(ConfigEdit($"config {field} = {Show(value)}", config, c => c[field] = value?.DeepClone()));
        list.Add(ConfigEdit("config num_hidden_layers = 4 (fewer than the tensors)", config, c => c["num_hidden_layers"] = 4));
        list.Add(ConfigEdit("config num_hidden_layers = 6 (more than the tensors)", config, c => c["num_hidden_layers"] = 6));
        list.Add(ConfigEdit("config num_key_value_heads = 3 (not a divisor)", config, c => c["num_key_value_heads"] = 3));
        list.Add(ConfigEdit("config vocab_size = 511", config, c => c["vocab_size"] = 511));
        list.Add(ConfigEdit("config hidden_size = 72", config, c => c["hidden_size"] = 72));
        foreach (string field in new[] { "rms_norm_eps", "rope_theta" })
            foreach (string value in new[] { "-1", "0", "1e400", "-1e400", "1e-300", "\"1e-5\"", "null", "true", "[1e-5]" })
                list.Add(ConfigRaw($"config {field} = {value}", config, field, value));
        foreach (string value in new[] { "0", "-1", "1e400", "\"2\"" })
        {
            string scaling = $$"""{"rope_type": "llama3", "factor": {{value}}, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 256}""";
            list.Add(ConfigRaw($"config llama3 rope_scaling factor = {value}", config, "rope_scaling", scaling));
        }
        list.Add(ConfigRaw("config llama3 rope_scaling low = high", config, "rope_scaling",
            """{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 256}"""));
        list.Add(ConfigRaw("config rope_scaling of an unknown type", config, "rope_scaling", """{"rope_type": "warp", "factor": 2.0}"""));
        list.Add(ConfigRaw("config rope_scaling is a number", config, "rope_scaling", "2"));
        list.Add(ConfigEdit("config architectures unknown", config, c => c["architectures"] = new JsonArray("GPT2LMHeadModel")));
        list.Add(ConfigEdit("config architectures empty", config, c => { c["architectures"] = new JsonArray(); c.Remove("model_type"); }));
        list.Add(ConfigEdit("config architectures not strings", config, c => c["architectures"] = new JsonArray(64, "LlamaForCausalLM")));
        list.Add(ConfigEdit("config tie_word_embeddings = \"yes\"", config, c => c["tie_word_embeddings"] = "yes"));
        list.Add(ConfigEdit("config tie_word_embeddings = false (no lm_head)", config, c => c["tie_word_embeddings"] = false));
        list.Add(ConfigEdit("config attention_bias = true (no biases)", config, c => c["attention_bias"] = true));
        foreach (JsonNode? value in new JsonNode?[] { -1, 512, 99999, 2.5, "1", new JsonArray(2.5) })
        {
            list.Add(ConfigEdit($"config bos_token_id = {Show(value)}", config, c => c["bos_token_id"] = value?.DeepClone()));
            list.Add(ConfigEdit($"config eos_token_id = {Show(value)}", config, c => c["eos_token_id"] = value?.DeepClone()));
        }
        foreach (string text in new[] { "", "{", "[]", "null", "{\"architectures\": [\"LlamaForCausalLM\"],}", "\u00ff\u00fe" })
            list.Add(new($"config.json is {Show(text)}", f => File.WriteAllText(Path.Combine(f, Config), text)));
        list.Add(new("config.json with invalid UTF-8", f => WriteBytes(f, Config, [.. Encoding.UTF8.GetBytes("{\"hidden_size\": 64, \"x\": \""), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes("\"}")])));

        // generation_config.json values.
        foreach (string value in new[] { "[2.5]", "2.5", "\"2\"", "[1, \"2\"]", "-1", "512", "99999", "[[2]]", "{}", "1e400" })
            list.Add(new($"generation_config eos_token_id = {value}", f => File.WriteAllText(Path.Combine(f, Generation), $$"""{"bos_token_id": 1, "eos_token_id": {{value}}}""")));
        foreach (string value in new[] { "-1", "512", "2.5", "\"1\"" })
            list.Add(new($"generation_config bos_token_id = {value}", f => File.WriteAllText(Path.Combine(f, Generation), $$"""{"bos_token_id": {{value}}, "eos_token_id": 2}""")));
        foreach (string text in new[] { "", "{", "[]", "null" })
            list.Add(new($"generation_config.json is {Show(text)}", f => File.WriteAllText(Path.Combine(f, Generation), text)));

        // tokenizer.model bytes.
        foreach (int cut in new[] { 0, 1, 2, 10, 100, tokenizer.Length / 4, tokenizer.Length / 2, tokenizer.Length - 10, tokenizer.Length - 1 })
            list.Add(new($"tokenizer.model truncated to {cut} bytes", f => WriteBytes(f, Tokenizer, tokenizer[..cut]), TokenizerOnly: true));
        for (int i = 0; i < 10; i++)
        {
            var bytes = new byte[random.Next(1, 4096)];
            random.NextBytes(bytes);
            list.Add(new($"tokenizer.model random {bytes.Length} bytes #{i}", f => WriteBytes(f, Tokenizer, bytes), TokenizerOnly: true));
        }
        for (int i = 0; i < 30; i++)
        {
            int at = random.Next(tokenizer.Length);
            byte value = (byte)random.Next(256);
            if (value == tokenizer[at]) value ^= 0x40;
            list.Add(new($"tokenizer.model byte {at} = 0x{value:x2}", f => WriteBytes(f, Tokenizer, WithByte(tokenizer, at, value)), TokenizerOnly: true));
        }
        list.Add(new("tokenizer.model missing", f => File.Delete(Path.Combine(f, Tokenizer)), TokenizerOnly: true));
        list.Add(new("tokenizer.model is a folder", f => { File.Delete(Path.Combine(f, Tokenizer)); Directory.CreateDirectory(Path.Combine(f, Tokenizer)); }, TokenizerOnly: true));
        return list;
    }

    private static string Show(JsonNode? value) => value?.ToJsonString() ?? "null";

    private static string Show(string text) => text.Length == 0 ? "empty" : $"'{text}'";

    private static void WriteBytes(string folder, string file, byte[] bytes) => File.WriteAllBytes(Path.Combine(folder, file), bytes);

    private static byte[] WithByte(byte[] bytes, int at, byte value)
    {
        byte[] copy = [.. bytes];
        copy[at] = value;
        return copy;
    }

    private static byte[] WithHeaderLength(byte[] weights, ulong length)
    {
        byte[] copy = [.. weights];
        BinaryPrimitives.WriteUInt64LittleEndian(copy, length);
        return copy;
    }

    /// <summary>The file with its header replaced by <paramref name="edit"/> of the parsed header (or <paramref name="raw"/> text), padded as safetensors pads it.</summary>
    private static Mutation HeaderEdit(string name, byte[] weights, int headerLength, JsonObject header, Action<JsonObject> edit, string? raw = null) =>
        new(name, folder =>
        {
            var copy = (JsonObject)header.DeepClone();
            edit(copy);
            byte[] text = Encoding.UTF8.GetBytes(raw ?? copy.ToJsonString());
            int padded = (text.Length + 7) / 8 * 8;
            var bytes = new byte[8 + padded + weights.Length - 8 - headerLength];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
            text.CopyTo(bytes, 8);
            bytes.AsSpan(8 + text.Length, padded - text.Length).Fill((byte)' ');
            weights.AsSpan(8 + headerLength).CopyTo(bytes.AsSpan(8 + padded));
            WriteBytes(folder, Weights, bytes);
        });

    private static Mutation ConfigEdit(string name, JsonObject config, Action<JsonObject> edit) =>
        new(name, folder =>
        {
            var copy = (JsonObject)config.DeepClone();
            edit(copy);
            File.WriteAllText(Path.Combine(folder, Config), copy.ToJsonString());
        });

    /// <summary>config.json with <paramref name="field"/> set to the literal JSON text <paramref name="value"/> (which may be out of double's range).</summary>
    private static Mutation ConfigRaw(string name, JsonObject config, string field, string value) =>
        new(name, folder =>
        {
            var copy = (JsonObject)config.DeepClone();
            copy.Remove(field);
            string text = copy.ToJsonString();
            File.WriteAllText(Path.Combine(folder, Config), string.Create(CultureInfo.InvariantCulture, $"{text[..^1]},\"{field}\":{value}}}"));
        });
}
