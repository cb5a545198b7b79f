using System.Buffers.Binary;
using System.Text.Json;

namespace TimeBill.Core.Checkpoints;

/// <summary>
/// A reader for the safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
/// names to dtype, shape and data offsets, then the raw data. Every inconsistency (truncated file, header
/// beyond the end, overlapping or out-of-range data, unsupported dtype) is reported with the file named.
/// </summary>
internal sealed class SafeTensorsFile
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private SafeTensorsFile(string path, IReadOnlyDictionary<string, SafeTensorsEntry> entries)
    {
        Path = path;
        Entries = entries;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Tensors by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorsEntry> Entries { get; }

    /// <summary>Reads and validates the header of <paramref name="path"/>.</summary>
    /// <exception cref="ModelLoadException">The file is missing or malformed.</exception>
    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new ModelLoadException(path, "file not found.");
        using var stream = File.OpenRead(path);
        long fileLength = stream.Length;
        if (fileLength < 8) throw new ModelLoadException(path, $"truncated: {fileLength} bytes, too short for the 8-byte header length.");

        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - 8))
            throw new ModelLoadException(path, $"header length {headerLength} runs beyond the end of the file ({fileLength} bytes).");
        if ((long)headerLength > MaxHeaderBytes)
            throw new ModelLoadException(path, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit.");

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        return new SafeTensorsFile(path, ParseHeader(header, dataStart, fileLength, path));
    }

    private static Dictionary<string, SafeTensorsEntry> ParseHeader(byte[] header, long dataStart, long fileLength, string path)
    {
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw new ModelLoadException(path, "header is not valid UTF-8.");
        JsonDocument document;
        try { document = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new ModelLoadException(path, $"header is not valid JSON ({e.Message}).", e); }
        try { JsonFile.CheckStrings(header, path); }
        catch
        {
            document.Dispose();
            throw;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelLoadException(path, "header must be a JSON object.");
            var entries = new Dictionary<string, SafeTensorsEntry>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__") continue;
                if (!entries.TryAdd(property.Name, ParseEntry(property, dataStart, fileLength, path)))
                    throw new ModelLoadException(path, $"tensor '{property.Name}' is listed twice in the header.");
            }
            CheckNoOverlap(entries.Values, path);
            // The data region is exactly the tensors, back to back: a header length that is off shifts every tensor.
            long end = entries.Values.Select(e => e.Offset + e.Length).DefaultIfEmpty(dataStart).Max();
            long covered = entries.Values.Sum(e => e.Length);
            if (end != fileLength || covered != fileLength - dataStart)
                throw new ModelLoadException(path, $"the data region ({fileLength - dataStart} bytes after the {dataStart - 8}-byte header) is not exactly the tensors' {covered} bytes back to back: a wrong header length, padding or a truncated file.");
            return entries;
        }
    }

    private static SafeTensorsEntry ParseEntry(JsonProperty property, long dataStart, long fileLength, string path)
    {
        string name = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement)
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
            throw new ModelLoadException(path, $"tensor '{name}': header entry needs dtype, shape and two data_offsets.");

        string? dtypeName = dtypeElement.ValueKind == JsonValueKind.String ? dtypeElement.GetString() : null;
        var dtype = SafeTensorsDTypes.Parse(dtypeName)
            ?? throw new ModelLoadException(path, $"tensor '{name}': unsupported dtype '{dtypeName}'; supported: F32, BF16, F16.");

        long[] shape;
        long begin, end;
        try
        {
            shape = shapeElement.EnumerateArray().Select(e => e.GetInt64()).ToArray();
            begin = offsetsElement[0].GetInt64();
            end = offsetsElement[1].GetInt64();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new ModelLoadException(path, $"tensor '{name}': shape and data_offsets must be integers.", e);
        }

        if (shape.Any(d => d < 0)) throw new ModelLoadException(path, $"tensor '{name}': negative dimension in shape [{string.Join(", ", shape)}].");
        long expected;
        try { expected = checked(shape.Aggregate(1L, (a, b) => a * b) * dtype.Size()); }
        catch (OverflowException) { throw new ModelLoadException(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] holds more bytes than a file can."); }
        if (begin < 0 || end < begin || end - begin != expected)
            throw new ModelLoadException(path, $"tensor '{name}': data_offsets [{begin}, {end}] do not hold {expected} bytes for {dtype} [{string.Join(", ", shape)}].");
        if (end > fileLength - dataStart)
            throw new ModelLoadException(path, $"truncated: tensor '{name}' ends at byte {dataStart + end} but the file has {fileLength} bytes.");
        return new SafeTensorsEntry(name, dtype, shape, dataStart + begin, end - begin, path);
    }

    private static void CheckNoOverlap(IEnumerable<SafeTensorsEntry> entries, string path)
    {
        SafeTensorsEntry? previous = null;
        foreach (var entry in entries.Where(e => e.Length > 0).OrderBy(e => e.Offset))
        {
            if (previous is not null && entry.Offset < previous.Offset + previous.Length)
                throw new ModelLoadException(path, $"tensors '{previous.Name}' and '{entry.Name}' overlap.");
            previous = entry;
        }
    }

    /// <summary>Reads a tensor's raw bytes.</summary>
    public static byte[] ReadBytes(SafeTensorsEntry entry)
    {
        var bytes = new byte[entry.Length];
        using var stream = File.OpenRead(entry.File);
        stream.Position = entry.Offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Reads a tensor and widens it to float32, whatever its stored dtype (through ggml's element-type decoders).</summary>
    public static float[] ReadFloat32(SafeTensorsEntry entry)
    {
        byte[] bytes = ReadBytes(entry);
        var result = new float[entry.ElementCount];
        Kernels.Quantized.GgmlQuantization.Dequantize(ElementType(entry.DType), bytes, result);
        return result;
    }

    /// <summary>Reads elements [<paramref name="start"/>, <paramref name="start"/> + destination.Length) of a tensor widened to float32.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range lies outside the tensor.</exception>
    /// <exception cref="ModelLoadException">The file ends early (it changed since it was opened).</exception>
    public static void ReadFloat32(SafeTensorsEntry entry, long start, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + destination.Length, entry.ElementCount);
        int size = entry.DType.Size(), count = checked(destination.Length * size);
        byte[] bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(count);
        try
        {
            using var handle = File.OpenHandle(entry.File);
            for (int done = 0; done < count;)
            {
                int read = RandomAccess.Read(handle, bytes.AsSpan(done, count - done), entry.Offset + start * size + done);
                if (read == 0) throw new ModelLoadException(entry.File, $"tensor '{entry.Name}' ends early: the file changed since it was opened.");
                done += read;
            }
            Kernels.Quantized.GgmlQuantization.Dequantize(ElementType(entry.DType), bytes.AsSpan(0, count), destination);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private static Kernels.Quantized.GgmlType ElementType(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F32 => Kernels.Quantized.GgmlType.F32,
        SafeTensorsDType.BF16 => Kernels.Quantized.GgmlType.BF16,
        _ => Kernels.Quantized.GgmlType.F16,
    };
}
