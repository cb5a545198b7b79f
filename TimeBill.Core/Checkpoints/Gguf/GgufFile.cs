using TimeBill.Kernels.Quantized;
using System.IO.MemoryMappedFiles;
using System.Text;

namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>
/// A GGUF file (versions 2 and 3), memory-mapped: the header's metadata and tensor infos are parsed and checked at
/// open, tensor data is read in place from the mapping. Every inconsistency (truncation, a count or offset beyond the
/// file, an unknown type, misalignment, a duplicate name, an absurd size) is a <see cref="ModelLoadException"/> naming
/// the file and the field, raised before anything is allocated from an untrusted number.
/// </summary>
internal sealed unsafe class GgufFile : IDisposable
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;
    /// <summary>Data alignment when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;
    private const int MaxDimensions = 4;
    private const int MaxArrayDepth = 8;
    private const ulong MaxArrayItems = 1 << 26;

    private readonly MemoryMappedFile _mapping;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private bool _disposed;

    private GgufFile(string path, MemoryMappedFile mapping, MemoryMappedViewAccessor view, byte* pointer, long length)
    {
        Path = path;
        _mapping = mapping;
        _view = view;
        _base = pointer;
        FileLength = length;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }
    /// <summary>Its length in bytes.</summary>
    public long FileLength { get; }
    /// <summary>2 or 3.</summary>
    public uint Version { get; private set; }
    /// <summary>Metadata in file order.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; private set; } = new Dictionary<string, GgufValue>();
    /// <summary>Tensors in file order, by name.</summary>
    public IReadOnlyDictionary<string, GgufTensorInfo> Tensors { get; private set; } = new Dictionary<string, GgufTensorInfo>();
    /// <summary>Alignment of tensor data (<c>general.alignment</c> or 32).</summary>
    public int Alignment { get; private set; } = DefaultAlignment;
    /// <summary>Byte offset where the data section begins.</summary>
    public long DataStart { get; private set; }

    /// <summary>Maps and parses <paramref name="path"/>.</summary>
    /// <exception cref="ModelLoadException">The file is missing or malformed.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new ModelLoadException(path, "file not found.");
        // The open file's length is its target's when path is a symbolic link; the mapping takes the stream over.
        var stream = File.OpenRead(path);
        long length = stream.Length;
        MemoryMappedFile mapping;
        try
        {
            if (length < 24) throw new ModelLoadException(path, $"truncated: {length} bytes, too short for a GGUF header (24 bytes).");
            mapping = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        MemoryMappedViewAccessor? view = null;
        GgufFile? file = null;
        try
        {
            view = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            file = new GgufFile(path, mapping, view, pointer + view.PointerOffset, length);
            file.Parse();
            return file;
        }
        catch
        {
            if (file is not null) file.Dispose();
            else { view?.Dispose(); mapping.Dispose(); }
            throw;
        }
    }

    /// <summary>The raw bytes of <paramref name="tensor"/>, in place in the mapping (valid until disposal).</summary>
    public ReadOnlySpan<byte> Data(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tensor.Length > int.MaxValue) throw new NotSupportedException($"{Path}: tensor '{tensor.Name}' holds {tensor.Length} bytes, more than one span can address.");
        return new ReadOnlySpan<byte>(_base + tensor.Offset, (int)tensor.Length);
    }

    /// <summary>A pointer to the data of <paramref name="tensor"/> in the mapping (valid until disposal).</summary>
    public byte* Pointer(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _base + tensor.Offset;
    }

    /// <summary>The tensor called <paramref name="name"/>, or a <see cref="ModelLoadException"/> saying it is missing.</summary>
    public GgufTensorInfo Tensor(string name) =>
        Tensors.TryGetValue(name, out var info) ? info : throw new ModelLoadException(Path, $"missing tensor '{name}'.");

    /// <summary>The value of <paramref name="key"/>, or null when absent.</summary>
    public GgufValue? Value(string key) => Metadata.GetValueOrDefault(key);

    /// <summary>A string value, null when absent; another type is an error naming the key.</summary>
    public string? String(string key) => Value(key) switch
    {
        null => null,
        { Value: string s } => s,
        var v => throw WrongType(key, v, "a string"),
    };

    /// <summary>An integer value of any width, null when absent; another type (or a uint64 beyond int64) is an error.</summary>
    public long? Integer(string key) => Value(key) switch
    {
        null => null,
        var v => v.AsInteger() ?? throw WrongType(key, v, "an integer"),
    };

    /// <summary>An integer value that must fit an int32 and lie in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int? Int32(string key, int min, int max)
    {
        if (Integer(key) is not long value) return null;
        if (value < min || value > max) throw new ModelLoadException(Path, $"metadata '{key}' is {value}; it must lie in [{min}, {max}].");
        return (int)value;
    }

    /// <summary>A float value (float32 or float64; integers are accepted too), null when absent.</summary>
    public double? Real(string key) => Value(key) switch
    {
        null => null,
        var v => v.AsReal() ?? (double?)v.AsInteger() ?? throw WrongType(key, v, "a number"),
    };

    /// <summary>A bool value, null when absent.</summary>
    public bool? Bool(string key) => Value(key) switch
    {
        null => null,
        { Value: bool b } => b,
        var v => throw WrongType(key, v, "a bool"),
    };

    /// <summary>An array whose items are all of CLR type <typeparamref name="T"/>, null when absent.</summary>
    public T[]? Array<T>(string key) => Value(key) switch
    {
        null => null,
        { Value: GgufArray { Items: T[] items } } => items,
        var v => throw WrongType(key, v, $"an array of {typeof(T).Name}"),
    };

    /// <summary>An array of integers of any width as int32s, each in [<paramref name="min"/>, <paramref name="max"/>]; null when absent.</summary>
    public int[]? Int32Array(string key, int min, int max)
    {
        if (Value(key) is not { } v) return null;
        if (v.Value is not GgufArray array || array.Items is string[] or bool[] or float[] or double[] or GgufArray[])
            throw WrongType(key, v, "an array of integers");
        var result = new int[array.Items.Length];
        for (int i = 0; i < result.Length; i++)
        {
            long item = Convert.ToInt64(array.Items.GetValue(i));
            if (item < min || item > max) throw new ModelLoadException(Path, $"metadata '{key}'[{i}] is {item}; it must lie in [{min}, {max}].");
            result[i] = (int)item;
        }
        return result;
    }

    private ModelLoadException WrongType(string key, GgufValue value, string wanted) =>
        new(Path, $"metadata '{key}' is {Describe(value)}; it must be {wanted}.");

    private static string Describe(GgufValue value) =>
        value.Value is GgufArray array ? $"an array of {array.ElementType}" : $"a {value.Type}";

    private void Parse()
    {
        var reader = new Reader(_base, FileLength, Path);
        uint magic = reader.UInt32("magic");
        if (magic != Magic)
            throw new ModelLoadException(Path, $"not a GGUF file: magic bytes are 0x{magic:x8}, expected 'GGUF'.");
        uint version = reader.UInt32("version");
        if (version is 0x02000000 or 0x03000000)
            throw new ModelLoadException(Path, "a big-endian GGUF file; only little-endian files are read.");
        if (version is not (2 or 3))
            throw new ModelLoadException(Path, $"GGUF version {version} is not supported; supported: 2, 3.");
        Version = version;
        ulong tensorCount = reader.UInt64("tensor_count");
        ulong metadataCount = reader.UInt64("metadata_kv_count");
        // Each entry takes at least this many bytes, so a count the rest of the file cannot hold is refused before any allocation.
        if (metadataCount > (ulong)reader.Remaining / 13)
            throw new ModelLoadException(Path, $"metadata_kv_count {metadataCount} is more than the remaining {reader.Remaining} bytes can hold.");
        if (tensorCount > (ulong)reader.Remaining / 24)
            throw new ModelLoadException(Path, $"tensor_count {tensorCount} is more than the remaining {reader.Remaining} bytes can hold.");

        var metadata = new Dictionary<string, GgufValue>((int)metadataCount, StringComparer.Ordinal);
        for (ulong i = 0; i < metadataCount; i++)
        {
            string key = reader.String($"metadata key {i}");
            var type = reader.Tag($"metadata '{key}' type");
            var value = ReadValue(ref reader, type, key, 0);
            if (!metadata.TryAdd(key, value)) throw new ModelLoadException(Path, $"metadata key '{key}' appears twice.");
        }
        Metadata = metadata;

        if (Value("general.alignment") is { } alignmentValue)
        {
            if (alignmentValue.Value is not uint alignment) throw WrongType("general.alignment", alignmentValue, "a uint32");
            if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > 1 << 20)
                throw new ModelLoadException(Path, $"general.alignment is {alignment}; it must be a power of two up to 2^20.");
            Alignment = (int)alignment;
        }

        var infos = new List<(string Name, long[] Dims, GgmlType Type, ulong Offset)>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = reader.String($"tensor {i} name");
            if (!names.Add(name)) throw new ModelLoadException(Path, $"tensor '{name}' is listed twice.");
            uint dimensions = reader.UInt32($"tensor '{name}' n_dims");
            if (dimensions is 0 or > MaxDimensions)
                throw new ModelLoadException(Path, $"tensor '{name}': n_dims is {dimensions}; it must be 1..{MaxDimensions}.");
            var dims = new long[dimensions];
            for (int d = 0; d < dims.Length; d++)
            {
                ulong size = reader.UInt64($"tensor '{name}' ne[{d}]");
                if (size == 0 || size > 1UL << 40)
                    throw new ModelLoadException(Path, $"tensor '{name}': dimension {d} is {size}; it must be 1..2^40.");
                dims[d] = (long)size;
            }
            uint typeId = reader.UInt32($"tensor '{name}' type");
            infos.Add((name, dims, (GgmlType)typeId, reader.UInt64($"tensor '{name}' offset")));
        }

        long headerEnd = reader.Position;
        DataStart = AlignUp(headerEnd, Alignment);
        if (tensorCount > 0 && DataStart > FileLength)
            throw new ModelLoadException(Path, $"truncated: the data section would start at byte {DataStart} but the file has {FileLength} bytes.");
        long dataLength = FileLength - Math.Min(DataStart, FileLength);

        var tensors = new Dictionary<string, GgufTensorInfo>(infos.Count, StringComparer.Ordinal);
        foreach (var (name, dims, type, offset) in infos)
        {
            var traits = GgufTypes.Readable(type)
                ?? throw new ModelLoadException(Path, $"tensor '{name}' has type {GgufTypes.Name(type)}, which this library does not read; supported: {GgufTypes.SupportedNames}.");
            if (dims[0] % traits.BlockSize != 0)
                throw new ModelLoadException(Path, $"tensor '{name}': its row of {dims[0]} elements is not a whole number of {type} blocks ({traits.BlockSize} elements).");
            long bytes;
            try
            {
                long rows = dims.Skip(1).Aggregate(1L, (a, b) => checked(a * b));
                bytes = checked(dims[0] / traits.BlockSize * traits.BlockBytes * rows);
            }
            catch (OverflowException) { throw new ModelLoadException(Path, $"tensor '{name}': shape [{string.Join(", ", dims)}] holds more bytes than a file can."); }
            if (offset % (ulong)Alignment != 0)
                throw new ModelLoadException(Path, $"tensor '{name}': data offset {offset} is not a multiple of the alignment {Alignment}.");
            if (offset > (ulong)dataLength || (ulong)bytes > (ulong)dataLength - offset)
                throw new ModelLoadException(Path, $"truncated: tensor '{name}' needs bytes [{offset}, {offset + (ulong)bytes}) of the data section, which has {dataLength}.");
            tensors.Add(name, new GgufTensorInfo(name, dims, type, DataStart + (long)offset, bytes));
        }
        GgufTensorInfo? previous = null;
        foreach (var tensor in tensors.Values.OrderBy(t => t.Offset))
        {
            if (previous is not null && tensor.Offset < previous.Offset + previous.Length)
                throw new ModelLoadException(Path, $"tensors '{previous.Name}' and '{tensor.Name}' overlap.");
            previous = tensor;
        }
        Tensors = tensors;
    }

    private GgufValue ReadValue(ref Reader reader, GgufValueType type, string key, int depth)
    {
        string field = $"metadata '{key}'";
        return type switch
        {
            GgufValueType.UInt8 => new(type, reader.Byte(field)),
            GgufValueType.Int8 => new(type, (sbyte)reader.Byte(field)),
            GgufValueType.UInt16 => new(type, reader.UInt16(field)),
            GgufValueType.Int16 => new(type, (short)reader.UInt16(field)),
            GgufValueType.UInt32 => new(type, reader.UInt32(field)),
            GgufValueType.Int32 => new(type, (int)reader.UInt32(field)),
            GgufValueType.Float32 => new(type, BitConverter.UInt32BitsToSingle(reader.UInt32(field))),
            GgufValueType.Bool => new(type, reader.Bool(field)),
            GgufValueType.String => new(type, reader.String(field)),
            GgufValueType.UInt64 => new(type, reader.UInt64(field)),
            GgufValueType.Int64 => new(type, (long)reader.UInt64(field)),
            GgufValueType.Float64 => new(type, BitConverter.UInt64BitsToDouble(reader.UInt64(field))),
            GgufValueType.Array => new(type, ReadArray(ref reader, key, depth)),
            _ => throw new ModelLoadException(Path, $"{field}: unknown value type {(uint)type}."),
        };
    }

    private GgufArray ReadArray(ref Reader reader, string key, int depth)
    {
        if (depth >= MaxArrayDepth) throw new ModelLoadException(Path, $"metadata '{key}': arrays nested deeper than {MaxArrayDepth}.");
        var element = reader.Tag($"metadata '{key}' array type");
        ulong count = reader.UInt64($"metadata '{key}' array length");
        int minimum = element switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.String => 8,
            GgufValueType.Array => 12,
            _ => 8,
        };
        if (count > MaxArrayItems || count > (ulong)reader.Remaining / (ulong)minimum)
            throw new ModelLoadException(Path, $"metadata '{key}': array length {count} is more than the remaining {reader.Remaining} bytes can hold.");
        int n = (int)count;
        switch (element)
        {
            case GgufValueType.String:
                var strings = new string[n];
                for (int i = 0; i < n; i++) strings[i] = reader.String($"metadata '{key}'[{i}]");
                return new(element, strings);
            case GgufValueType.Array:
                var arrays = new GgufArray[n];
                for (int i = 0; i < n; i++) arrays[i] = ReadArray(ref reader, $"{key}[{i}]", depth + 1);
                return new(element, arrays);
            case GgufValueType.Bool:
                var bools = new bool[n];
                for (int i = 0; i < n; i++) bools[i] = reader.Bool($"metadata '{key}'[{i}]");
                return new(element, bools);
            case GgufValueType.UInt8: return new(element, reader.Block<byte>(n, key));
            case GgufValueType.Int8: return new(element, reader.Block<sbyte>(n, key));
            case GgufValueType.UInt16: return new(element, reader.Block<ushort>(n, key));
            case GgufValueType.Int16: return new(element, reader.Block<short>(n, key));
            case GgufValueType.UInt32: return new(element, reader.Block<uint>(n, key));
            case GgufValueType.Int32: return new(element, reader.Block<int>(n, key));
            case GgufValueType.Float32: return new(element, reader.Block<float>(n, key));
            case GgufValueType.UInt64: return new(element, reader.Block<ulong>(n, key));
            case GgufValueType.Int64: return new(element, reader.Block<long>(n, key));
            case GgufValueType.Float64: return new(element, reader.Block<double>(n, key));
            default: throw new ModelLoadException(Path, $"metadata '{key}': unknown array element type {(uint)element}.");
        }
    }

    internal static long AlignUp(long offset, int alignment) => (offset + alignment - 1) / alignment * alignment;

    /// <summary>Unmaps the file; spans and pointers handed out become invalid.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _mapping.Dispose();
    }

    /// <summary>A bounds-checked little-endian cursor over the mapped header.</summary>
    private struct Reader(byte* start, long length, string path)
    {
        private const long MaxStringBytes = 1L << 26;

        public long Position { get; private set; }
        public readonly long Remaining => length - Position;

        private byte* Take(long bytes, string field)
        {
            if (bytes > Remaining)
                throw new ModelLoadException(path, $"truncated: {field} needs {bytes} bytes at offset {Position}, but the file has {length}.");
            byte* at = start + Position;
            Position += bytes;
            return at;
        }

        public byte Byte(string field) => *Take(1, field);
        public ushort UInt16(string field) => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(Take(2, field), 2));
        public uint UInt32(string field) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(Take(4, field), 4));
        public ulong UInt64(string field) => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(Take(8, field), 8));

        public bool Bool(string field) => Byte(field) switch
        {
            0 => false,
            1 => true,
            var b => throw new ModelLoadException(path, $"{field}: bool byte is {b}; it must be 0 or 1."),
        };

        public GgufValueType Tag(string field)
        {
            uint tag = UInt32(field);
            if (tag > (uint)GgufValueType.Float64) throw new ModelLoadException(path, $"{field}: unknown value type {tag}.");
            return (GgufValueType)tag;
        }

        public string String(string field)
        {
            ulong bytes = UInt64(field + " length");
            if (bytes > (ulong)Remaining || bytes > MaxStringBytes)
                throw new ModelLoadException(path, $"{field}: string length {bytes} runs beyond the end of the file or the {MaxStringBytes}-byte limit.");
            var span = new ReadOnlySpan<byte>(Take((long)bytes, field), (int)bytes);
            if (!System.Text.Unicode.Utf8.IsValid(span)) throw new ModelLoadException(path, $"{field} is not valid UTF-8.");
            return Encoding.UTF8.GetString(span);
        }

        public T[] Block<T>(int count, string key) where T : unmanaged
        {
            long bytes = (long)count * sizeof(T);
            byte* at = Take(bytes, $"metadata '{key}' array");
            var items = new T[count];
            new ReadOnlySpan<byte>(at, (int)bytes).CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(items.AsSpan()));
            return items;
        }
    }
}
