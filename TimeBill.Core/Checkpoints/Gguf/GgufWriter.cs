using TimeBill.Kernels.Quantized;
using System.Text;

namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>A tensor to write: its ggml-order dimensions, type, and a function giving its bytes when they are written.</summary>
internal sealed record GgufTensorSource(string Name, long[] Dimensions, GgmlType Type, Func<byte[]> Bytes);

/// <summary>Writes GGUF version 3 files (little-endian): metadata, tensor infos, then the data, each tensor aligned.</summary>
internal static class GgufWriter
{
    /// <summary>
    /// Writes <paramref name="metadata"/> and <paramref name="tensors"/> to <paramref name="path"/>; tensor bytes are
    /// asked for one at a time, so a whole model is never held at once.
    /// </summary>
    /// <exception cref="ArgumentException">A tensor's bytes do not match its shape and type, or a name repeats.</exception>
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, GgufValue>> metadata, IReadOnlyList<GgufTensorSource> tensors,
        int alignment = GgufFile.DefaultAlignment)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(tensors);
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "Must be a power of two.");
        if (tensors.Select(t => t.Name).Distinct().Count() != tensors.Count) throw new ArgumentException("tensor names repeat.", nameof(tensors));
        var entries = metadata.ToList();
        if (alignment != GgufFile.DefaultAlignment && entries.All(e => e.Key != "general.alignment"))
            entries.Add(new("general.alignment", GgufValue.Of((uint)alignment)));

        string temporary = path + ".partial";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(GgufFile.Magic);
            writer.Write(3u);
            writer.Write((ulong)tensors.Count);
            writer.Write((ulong)entries.Count);
            foreach (var (key, value) in entries)
            {
                WriteString(writer, key);
                writer.Write((uint)value.Type);
                WriteValue(writer, value.Type, value.Value);
            }
            long offset = 0;
            var lengths = new long[tensors.Count];
            for (int i = 0; i < tensors.Count; i++)
            {
                var tensor = tensors[i];
                var sizes = GgufTypes.Readable(tensor.Type) ?? throw new ArgumentException($"tensor '{tensor.Name}': type {tensor.Type} cannot be written.", nameof(tensors));
                // A row's bytes come in one array, so its columns fit an int.
                if (tensor.Dimensions.Length is 0 or > 4 || tensor.Dimensions.Any(d => d <= 0) || tensor.Dimensions[0] > int.MaxValue || !sizes.IsWholeBlocks(tensor.Dimensions[0]))
                    throw new ArgumentException($"tensor '{tensor.Name}': dimensions [{string.Join(", ", tensor.Dimensions)}] do not fit {tensor.Type}.", nameof(tensors));
                lengths[i] = sizes.MatrixBytes(tensor.Dimensions.Skip(1).Aggregate(1L, (a, b) => checked(a * b)), (int)tensor.Dimensions[0]);
                WriteString(writer, tensor.Name);
                writer.Write((uint)tensor.Dimensions.Length);
                foreach (long d in tensor.Dimensions) writer.Write((ulong)d);
                writer.Write((uint)tensor.Type);
                writer.Write((ulong)offset);
                offset = GgufFile.AlignUp(offset + lengths[i], alignment);
            }
            writer.Flush();
            Pad(stream, alignment);
            for (int i = 0; i < tensors.Count; i++)
            {
                byte[] bytes = tensors[i].Bytes();
                if (bytes.Length != lengths[i])
                    throw new ArgumentException($"tensor '{tensors[i].Name}' gave {bytes.Length} bytes; its shape and type need {lengths[i]}.", nameof(tensors));
                stream.Write(bytes);
                if (i < tensors.Count - 1) Pad(stream, alignment);
            }
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static void Pad(Stream stream, int alignment)
    {
        long padding = GgufFile.AlignUp(stream.Position, alignment) - stream.Position;
        for (long i = 0; i < padding; i++) stream.WriteByte(0);
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static void WriteValue(BinaryWriter writer, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.UInt8: writer.Write((byte)value); break;
            case GgufValueType.Int8: writer.Write((sbyte)value); break;
            case GgufValueType.UInt16: writer.Write((ushort)value); break;
            case GgufValueType.Int16: writer.Write((short)value); break;
            case GgufValueType.UInt32: writer.Write((uint)value); break;
            case GgufValueType.Int32: writer.Write((int)value); break;
            case GgufValueType.Float32: writer.Write((float)value); break;
            case GgufValueType.Bool: writer.Write((bool)value ? (byte)1 : (byte)0); break;
            case GgufValueType.String: WriteString(writer, (string)value); break;
            case GgufValueType.UInt64: writer.Write((ulong)value); break;
            case GgufValueType.Int64: writer.Write((long)value); break;
            case GgufValueType.Float64: writer.Write((double)value); break;
            case GgufValueType.Array:
                var array = (GgufArray)value;
                writer.Write((uint)array.ElementType);
                writer.Write((ulong)array.Items.Length);
                foreach (object item in array.Items) WriteValue(writer, array.ElementType, item);
                break;
            default: throw new ArgumentException($"unknown GGUF value type {type}.", nameof(type));
        }
    }
}
