using System.Globalization;
using System.Text;
using TimeBill.Templates.Python;

namespace TimeBill.Templates.Lexing;

/// <summary>
/// Splits a template into tokens as Jinja's lexer does: template text between <c>{% %}</c>, <c>{{ }}</c> and
/// <c>{# #}</c> tags (comments dropped, <c>{% raw %}</c> kept verbatim), with <c>-</c>/<c>+</c> whitespace control,
/// <c>trim_blocks</c> and <c>lstrip_blocks</c> applied, and the expression tokens inside tags.
/// </summary>
internal sealed class Lexer
{
    private static readonly string[] Operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    private readonly string _src;
    private readonly bool _trimBlocks;
    private readonly bool _lstripBlocks;
    private readonly List<int> _lineStarts = [0];
    private readonly List<Token> _tokens = [];
    private int _pos;
    private bool _lineStarting = true; // the last match ended a line, so text before the next tag starts one

    private Lexer(string source, bool trimBlocks, bool lstripBlocks)
    {
        _src = Normalize(source);
        _trimBlocks = trimBlocks;
        _lstripBlocks = lstripBlocks;
        for (int i = 0; i < _src.Length; i++) if (_src[i] == '\n') _lineStarts.Add(i + 1);
    }

    public static List<Token> Tokenize(string source, bool trimBlocks, bool lstripBlocks)
    {
        var lexer = new Lexer(source, trimBlocks, lstripBlocks);
        lexer.Run();
        return lexer._tokens;
    }

    /// <summary>Line breaks become <c>\n</c> and one trailing line break is dropped (Jinja's <c>keep_trailing_newline=False</c>).</summary>
    private static string Normalize(string source)
    {
        string s = source.Replace("\r\n", "\n").Replace('\r', '\n');
        return s.EndsWith('\n') ? s[..^1] : s;
    }

    private int LineAt(int pos)
    {
        int i = _lineStarts.BinarySearch(pos);
        return (i >= 0 ? i : ~i - 1) + 1;
    }

    private TemplateSyntaxException Error(int pos, string problem) => new(LineAt(pos), problem);

    private void Run()
    {
        while (_pos < _src.Length)
        {
            int tag = NextTagStart(_pos);
            if (tag < 0)
            {
                Emit(TokenKind.Data, _src[_pos..], _pos);
                return;
            }
            char kind = _src[tag + 1];
            int after = tag + 2;
            char sign = after < _src.Length && _src[after] is '-' or '+' ? _src[after] : '\0';
            int textStart = _pos;
            string text = _src[_pos..tag];
            if (kind == '%' && MatchRawBegin(tag) is int rawBodyStart)
            {
                EmitData(ControlLeft(text, sign, isVariable: false), textStart);
                LexRaw(rawBodyStart);
                continue;
            }
            EmitData(ControlLeft(text, sign, isVariable: kind == '{'), textStart);
            _pos = after + (sign == '\0' ? 0 : 1);
            _lineStarting = false;
            switch (kind)
            {
                case '#': LexComment(tag); break;
                case '%': Emit(TokenKind.BlockBegin, "{%", tag); LexTag(block: true, tag); break;
                default: Emit(TokenKind.VariableBegin, "{{", tag); LexTag(block: false, tag); break;
            }
        }
    }

    private int NextTagStart(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
            if (_src[i + 1] is '%' or '{' or '#') return i;
        return -1;
    }

    /// <summary>
    /// The whitespace control that a tag applies to the text before it: <c>-</c> strips all trailing white space;
    /// otherwise, with <c>lstrip_blocks</c>, a block or comment tag (not <c>{%+</c>, not <c>{{</c>) alone on its line
    /// takes the spaces and tabs before it on that line.
    /// </summary>
    private string ControlLeft(string text, char sign, bool isVariable)
    {
        if (sign == '-') return PyString.Strip(text, null, left: false);
        if (sign == '+' || !_lstripBlocks || isVariable) return text;
        int lineStart = text.LastIndexOf('\n') + 1;
        if ((lineStart > 0 || _lineStarting) && PyString.IsAllSpace(text.AsSpan(lineStart))) return text[..lineStart];
        return text;
    }

    /// <summary>The end of a block tag at <paramref name="at"/>, if one is there: its length, and whether it ends a line.</summary>
    private int? MatchBlockEnd(int at, char endChar)
    {
        if (Match(at, "+%}") && endChar == '%') return 3;
        string close = endChar == '%' ? "%}" : "}}";
        if (_src[at] == '-' && Match(at + 1, close))
        {
            int end = at + 3;
            while (end < _src.Length && PyString.IsSpace(_src[end])) end++;
            return end - at;
        }
        if (Match(at, close))
            return endChar == '%' && _trimBlocks && Match(at + 2, "\n") ? 3 : 2;
        return null;
    }

    private bool Match(int at, string s) => at >= 0 && at + s.Length <= _src.Length && _src.AsSpan(at, s.Length).SequenceEqual(s);

    private void LexComment(int tag)
    {
        int bodyStart = _pos;
        int close = _src.IndexOf("#}", bodyStart, StringComparison.Ordinal);
        if (close < 0) throw Error(tag, "the comment opened here is never closed ('#}' missing).");
        char sign = close - 1 >= bodyStart && _src[close - 1] is '-' or '+' ? _src[close - 1] : '\0';
        int end = close + 2;
        if (sign == '-') while (end < _src.Length && PyString.IsSpace(_src[end])) end++;
        else if (sign == '\0' && _trimBlocks && Match(end, "\n")) end++;
        _pos = end;
        _lineStarting = _src[end - 1] == '\n';
    }

    /// <summary><c>{% raw %}</c> (with optional <c>-</c>/<c>+</c>) at <paramref name="tag"/>: where its body starts.</summary>
    private int? MatchRawBegin(int tag)
    {
        int i = tag + 2;
        if (i < _src.Length && _src[i] is '-' or '+') i++;
        while (i < _src.Length && PyString.IsSpace(_src[i])) i++;
        if (!Match(i, "raw")) return null;
        i += 3;
        while (i < _src.Length && PyString.IsSpace(_src[i])) i++;
        if (Match(i, "-%}"))
        {
            i += 3;
            while (i < _src.Length && PyString.IsSpace(_src[i])) i++;
            return i;
        }
        return Match(i, "%}") ? i + 2 : null;
    }

    private void LexRaw(int bodyStart)
    {
        _lineStarting = _src[bodyStart - 1] == '\n';
        for (int tag = _src.IndexOf("{%", bodyStart, StringComparison.Ordinal); tag >= 0; tag = _src.IndexOf("{%", tag + 1, StringComparison.Ordinal))
        {
            int i = tag + 2;
            char sign = i < _src.Length && _src[i] is '-' or '+' ? _src[i] : '\0';
            if (sign != '\0') i++;
            while (i < _src.Length && PyString.IsSpace(_src[i])) i++;
            if (!Match(i, "endraw")) continue;
            i += 6;
            while (i < _src.Length && PyString.IsSpace(_src[i])) i++;
            if (i >= _src.Length || MatchBlockEnd(i, '%') is not int endLength) continue;
            EmitData(ControlLeft(_src[bodyStart..tag], sign, isVariable: false), bodyStart);
            _pos = i + endLength;
            _lineStarting = _src[_pos - 1] == '\n';
            return;
        }
        throw Error(bodyStart, "the {% raw %} block is never closed ({% endraw %} missing).");
    }

    private void LexTag(bool block, int tag)
    {
        var open = new Stack<char>();
        while (true)
        {
            if (_pos >= _src.Length)
                throw Error(tag, block ? "the tag opened here is never closed ('%}' missing)." : "the tag opened here is never closed ('}}' missing).");
            if (open.Count == 0 && MatchBlockEnd(_pos, block ? '%' : '}') is int endLength)
            {
                Emit(block ? TokenKind.BlockEnd : TokenKind.VariableEnd, block ? "%}" : "}}", _pos);
                _pos += endLength;
                _lineStarting = _src[_pos - 1] == '\n';
                return;
            }
            char c = _src[_pos];
            if (PyString.IsSpace(c)) _pos++;
            else if (char.IsAsciiDigit(c)) LexNumber();
            else if (char.IsLetter(c) || c == '_') LexName();
            else if (c is '\'' or '"') LexString();
            else LexOperator(open);
        }
    }

    private void LexName()
    {
        int start = _pos;
        while (_pos < _src.Length && IsNameChar(_src[_pos])) _pos++;
        Emit(TokenKind.Name, _src[start.._pos], start);
    }

    private static bool IsNameChar(char c) => char.IsLetterOrDigit(c) || c == '_' || CharUnicodeInfo.GetUnicodeCategory(c) is
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.ConnectorPunctuation;

    private int Digits(int at)
    {
        int i = at;
        while (i < _src.Length && char.IsAsciiDigit(_src[i]))
        {
            i++;
            if (i + 1 < _src.Length && _src[i] == '_' && char.IsAsciiDigit(_src[i + 1])) i++;
        }
        return i;
    }

    private void LexNumber()
    {
        int start = _pos;
        if (_src[_pos] == '0' && _pos + 1 < _src.Length && char.ToLowerInvariant(_src[_pos + 1]) is 'x' or 'o' or 'b')
        {
            char radix = char.ToLowerInvariant(_src[_pos + 1]);
            int i = _pos + 2;
            while (i < _src.Length && (Uri.IsHexDigit(_src[i]) || _src[i] == '_')) i++;
            string digits = _src[(_pos + 2)..i].Replace("_", "");
            try
            {
                long value = Convert.ToInt64(digits, radix switch { 'x' => 16, 'o' => 8, _ => 2 });
                _pos = i;
                Emit(TokenKind.Integer, _src[start.._pos], start, value);
                return;
            }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
            {
                throw Error(start, $"invalid integer literal '{_src[start..i]}'.");
            }
        }
        int end = Digits(_pos);
        bool isFloat = _src[start - 1] != '.'; // Jinja's float rule: not right after a dot, so x.0.1 is two items
        int floatEnd = end;
        if (isFloat && Match(end, ".") && end + 1 < _src.Length && char.IsAsciiDigit(_src[end + 1])) floatEnd = Digits(end + 1);
        if (isFloat && floatEnd < _src.Length && _src[floatEnd] is 'e' or 'E')
        {
            int e = floatEnd + 1;
            if (e < _src.Length && _src[e] is '+' or '-') e++;
            if (e < _src.Length && char.IsAsciiDigit(_src[e])) floatEnd = Digits(e);
        }
        if (isFloat && floatEnd > end)
        {
            string text = _src[start..floatEnd];
            _pos = floatEnd;
            Emit(TokenKind.Float, text, start, double.Parse(text.Replace("_", ""), NumberStyles.Float, CultureInfo.InvariantCulture));
            return;
        }
        string integer = _src[start..end];
        if (integer.Length > 1 && integer[0] == '0' && integer.Replace("_", "").Any(ch => ch != '0'))
            throw Error(start, $"invalid integer literal '{integer}' (leading zeros are not allowed).");
        if (!long.TryParse(integer.Replace("_", ""), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            throw Error(start, $"integer literal '{integer}' does not fit in 64 bits.");
        _pos = end;
        Emit(TokenKind.Integer, integer, start, n);
    }

    private void LexString()
    {
        int start = _pos;
        char quote = _src[_pos];
        int i = _pos + 1;
        while (i < _src.Length && _src[i] != quote) i += _src[i] == '\\' ? 2 : 1;
        if (i >= _src.Length) throw Error(start, "unterminated string literal.");
        _pos = i + 1;
        Emit(TokenKind.String, _src[start.._pos], start, Unescape(_src[(start + 1)..i], start));
    }

    /// <summary>The escapes of a Python string literal (<c>\n</c>, <c>\t</c>, <c>\xhh</c>, <c>\uhhhh</c>, octal, ...); an unknown escape keeps its backslash.</summary>
    private string Unescape(string body, int at)
    {
        if (!body.Contains('\\')) return body;
        var sb = new StringBuilder(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c != '\\' || i + 1 == body.Length)
            {
                sb.Append(c);
                continue;
            }
            char e = body[++i];
            switch (e)
            {
                case '\n': break;
                case '\\': case '\'': case '"': sb.Append(e); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': sb.Append((char)Hex(body, i + 1, 2, at)); i += 2; break;
                case 'u': sb.Append((char)Hex(body, i + 1, 4, at)); i += 4; break;
                case 'U':
                    long cp = Hex(body, i + 1, 8, at);
                    if (cp > 0x10FFFF) throw Error(at, $"illegal Unicode character \\U{body.Substring(i + 1, 8)} in a string literal.");
                    // A surrogate code point stays a lone UTF-16 unit, as in a Python str.
                    if (cp is >= 0xD800 and <= 0xDFFF) sb.Append((char)cp);
                    else sb.Append(char.ConvertFromUtf32((int)cp));
                    i += 8;
                    break;
                case 'N': throw Error(at, "\\N{...} escapes in string literals are not supported.");
                case >= '0' and <= '7':
                    int value = 0, n = 0;
                    for (; n < 3 && i + n < body.Length && body[i + n] is >= '0' and <= '7'; n++) value = value * 8 + (body[i + n] - '0');
                    sb.Append((char)value);
                    i += n - 1;
                    break;
                default: sb.Append('\\').Append(e); break;
            }
        }
        return sb.ToString();
    }

    private long Hex(string body, int from, int count, int at)
    {
        if (from + count > body.Length || body.AsSpan(from, count).ContainsAnyExcept(HexDigits))
            throw Error(at, $"truncated \\{body[from - 1]} escape in a string literal (expected {count} hex digits).");
        return long.Parse(body.AsSpan(from, count), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    private void LexOperator(Stack<char> open)
    {
        int start = _pos;
        string? op = Operators.FirstOrDefault(o => Match(_pos, o));
        if (op is null) throw Error(start, $"unexpected character '{_src[_pos]}' in a tag.");
        switch (op)
        {
            case "(": open.Push(')'); break;
            case "[": open.Push(']'); break;
            case "{": open.Push('}'); break;
            case ")" or "]" or "}":
                if (open.Count == 0) throw Error(start, $"unexpected '{op}'.");
                char expected = open.Pop();
                if (expected != op[0]) throw Error(start, $"unexpected '{op}', expected '{expected}'.");
                break;
        }
        _pos += op.Length;
        Emit(TokenKind.Operator, op, start);
    }

    private void EmitData(string text, int at)
    {
        if (text.Length > 0) Emit(TokenKind.Data, text, at);
    }

    private void Emit(TokenKind kind, string text, int at, object? value = null) => _tokens.Add(new Token(kind, text, value, LineAt(at)));
}
