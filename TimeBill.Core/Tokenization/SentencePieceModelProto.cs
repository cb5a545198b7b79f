using System.Buffers.Binary;
using System.Text;
using TimeBill.Core.Checkpoints;

namespace TimeBill.Core.Tokenization;

/// <summary>A SentencePiece vocabulary entry: the piece, its score, and its type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).</summary>
internal readonly record struct SentencePiece(string Piece, float Score, int Type);

/// <summary>
/// The parts of a SentencePiece <c>ModelProto</c> (tokenizer.model) that GGUF carries: the pieces, the model type,
/// the special ids and the whitespace handling. Read and written with a minimal protobuf codec, so a GGUF vocabulary
/// can become a model Microsoft.ML.Tokenizers loads, and a tokenizer.model can be written into GGUF.
/// </summary>
internal sealed record SentencePieceModelProto(
    IReadOnlyList<SentencePiece> Pieces,
    int ModelType = 2,
    bool ByteFallback = false,
    int UnknownId = 0,
    int BosId = 1,
    int EosId = 2,
    int PadId = -1,
    bool AddDummyPrefix = true,
    bool RemoveExtraWhitespaces = false,
    bool EscapeWhitespaces = true)
{
    /// <summary>Protobuf's ModelProto.trainer_spec.model_type for BPE (unigram is 1).</summary>
    public const int Bpe = 2;

    /// <summary>Parses <paramref name="bytes"/>; <paramref name="path"/> names the file in errors.</summary>
    /// <exception cref="ModelLoadException">Not a well-formed ModelProto.</exception>
    public static SentencePieceModelProto Read(ReadOnlySpan<byte> bytes, string path)
    {
        var pieces = new List<SentencePiece>();
        var proto = new SentencePieceModelProto(pieces);
        var reader = new Reader(bytes, path);
        while (!reader.End)
        {
            var (field, wire) = reader.Tag();
            if (field == 1 && wire == 2)
            {
                var piece = new Reader(reader.Bytes(), path);
                string text = ""; float score = 0; int type = 1;
                while (!piece.End)
                {
                    var (f, w) = piece.Tag();
                    if (f == 1 && w == 2) text = Encoding.UTF8.GetString(piece.Bytes());
                    else if (f == 2 && w == 5) score = piece.Float();
                    else if (f == 3 && w == 0) type = (int)piece.Varint();
                    else piece.Skip(w);
                }
                pieces.Add(new SentencePiece(text, score, type));
            }
            else if (field == 2 && wire == 2)
            {
                var trainer = new Reader(reader.Bytes(), path);
                while (!trainer.End)
                {
                    var (f, w) = trainer.Tag();
                    switch (f, w)
                    {
                        case (3, 0): proto = proto with { ModelType = (int)trainer.Varint() }; break;
                        case (35, 0): proto = proto with { ByteFallback = trainer.Varint() != 0 }; break;
                        case (40, 0): proto = proto with { UnknownId = (int)trainer.Varint() }; break;
                        case (41, 0): proto = proto with { BosId = (int)trainer.Varint() }; break;
                        case (42, 0): proto = proto with { EosId = (int)trainer.Varint() }; break;
                        case (43, 0): proto = proto with { PadId = (int)trainer.Varint() }; break;
                        default: trainer.Skip(w); break;
                    }
                }
            }
            else if (field == 3 && wire == 2)
            {
                var normalizer = new Reader(reader.Bytes(), path);
                while (!normalizer.End)
                {
                    var (f, w) = normalizer.Tag();
                    switch (f, w)
                    {
                        case (3, 0): proto = proto with { AddDummyPrefix = normalizer.Varint() != 0 }; break;
                        case (4, 0): proto = proto with { RemoveExtraWhitespaces = normalizer.Varint() != 0 }; break;
                        case (5, 0): proto = proto with { EscapeWhitespaces = normalizer.Varint() != 0 }; break;
                        default: normalizer.Skip(w); break;
                    }
                }
            }
            else reader.Skip(wire);
        }
        return proto;
    }

    /// <summary>The ModelProto bytes (pieces, trainer spec, an identity normalizer spec).</summary>
    public byte[] ToBytes()
    {
        var model = new MemoryStream();
        Span<byte> score = stackalloc byte[4];
        foreach (var piece in Pieces)
        {
            var entry = new MemoryStream();
            WriteBytes(entry, 1, Encoding.UTF8.GetBytes(piece.Piece));
            WriteTag(entry, 2, 5);
            BinaryPrimitives.WriteSingleLittleEndian(score, piece.Score);
            entry.Write(score);
            WriteVarintField(entry, 3, (ulong)piece.Type);
            WriteBytes(model, 1, entry.ToArray());
        }
        var trainer = new MemoryStream();
        WriteVarintField(trainer, 3, (ulong)ModelType);
        WriteVarintField(trainer, 35, ByteFallback ? 1UL : 0);
        WriteVarintField(trainer, 40, (ulong)(long)UnknownId);
        WriteVarintField(trainer, 41, (ulong)(long)BosId);
        WriteVarintField(trainer, 42, (ulong)(long)EosId);
        WriteVarintField(trainer, 43, (ulong)(long)PadId);
        WriteBytes(model, 2, trainer.ToArray());
        var normalizer = new MemoryStream();
        WriteBytes(normalizer, 1, "identity"u8.ToArray());
        WriteVarintField(normalizer, 3, AddDummyPrefix ? 1UL : 0);
        WriteVarintField(normalizer, 4, RemoveExtraWhitespaces ? 1UL : 0);
        WriteVarintField(normalizer, 5, EscapeWhitespaces ? 1UL : 0);
        WriteBytes(model, 3, normalizer.ToArray());
        return model.ToArray();
    }

    private static void WriteTag(Stream stream, int field, int wire) => WriteVarint(stream, (ulong)(field << 3 | wire));

    private static void WriteVarintField(Stream stream, int field, ulong value)
    {
        WriteTag(stream, field, 0);
        WriteVarint(stream, value);
    }

    private static void WriteBytes(Stream stream, int field, byte[] bytes)
    {
        WriteTag(stream, field, 2);
        WriteVarint(stream, (ulong)bytes.Length);
        stream.Write(bytes);
    }

    private static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        stream.WriteByte((byte)value);
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes, string path)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public readonly bool End => _position >= _bytes.Length;

        public (int Field, int Wire) Tag()
        {
            ulong tag = Varint();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (End) throw Corrupt("a varint runs past the end");
                byte b = _bytes[_position++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return value;
            }
            throw Corrupt("a varint is longer than 10 bytes");
        }

        public float Float()
        {
            if (_bytes.Length - _position < 4) throw Corrupt("a float runs past the end");
            float value = BinaryPrimitives.ReadSingleLittleEndian(_bytes[_position..]);
            _position += 4;
            return value;
        }

        public ReadOnlySpan<byte> Bytes()
        {
            ulong length = Varint();
            if (length > (ulong)(_bytes.Length - _position)) throw Corrupt($"a field of {length} bytes runs past the end");
            var span = _bytes.Slice(_position, (int)length);
            _position += (int)length;
            return span;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Advance(8); break;
                case 2: Bytes(); break;
                case 5: Advance(4); break;
                default: throw Corrupt($"wire type {wire} is not supported");
            }
        }

        private void Advance(int count)
        {
            if (_bytes.Length - _position < count) throw Corrupt("a field runs past the end");
            _position += count;
        }

        private readonly ModelLoadException Corrupt(string problem) => new(path, $"not a readable SentencePiece model: {problem}.");
    }
}
