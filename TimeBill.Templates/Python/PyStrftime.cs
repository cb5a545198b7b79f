using System.Globalization;
using System.Text;
using TimeBill.Templates.Evaluation;

namespace TimeBill.Templates.Python;

/// <summary>
/// Python's <c>datetime.now().strftime(format)</c> on Linux (glibc, C locale), as transformers' <c>strftime_now</c>
/// runs it. The time is naive local time, so <c>%z</c> and <c>%Z</c> print nothing. A <c>-</c> after <c>%</c> drops
/// the padding (<c>%-d</c>), <c>_</c> pads with spaces, as glibc does.
/// </summary>
internal static class PyStrftime
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string Format(DateTime t, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            char pad = '\0';
            if (format[i + 1] is '-' or '_' or '0' && i + 2 < format.Length) pad = format[++i];
            char code = format[++i];
            sb.Append(Field(t, code, pad, format));
        }
        return sb.ToString();
    }

    private static string Field(DateTime t, char code, char pad, string format)
    {
        int hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
        return code switch
        {
            'a' => Days[(int)t.DayOfWeek][..3],
            'A' => Days[(int)t.DayOfWeek],
            'b' or 'h' => Months[t.Month - 1][..3],
            'B' => Months[t.Month - 1],
            'c' => Format(t, "%a %b %e %H:%M:%S %Y"),
            'C' => Number(t.Year / 100, 2, '0', pad),
            'd' => Number(t.Day, 2, '0', pad),
            'D' => Format(t, "%m/%d/%y"),
            'e' => Number(t.Day, 2, ' ', pad),
            'f' => Number((int)(t.Ticks % TimeSpan.TicksPerSecond / 10), 6, '0', pad),
            'F' => Format(t, "%Y-%m-%d"),
            'G' => Number(ISOWeek.GetYear(t), 4, '0', pad),
            'H' => Number(t.Hour, 2, '0', pad),
            'I' => Number(hour12, 2, '0', pad),
            'j' => Number(t.DayOfYear, 3, '0', pad),
            'k' => Number(t.Hour, 2, ' ', pad),
            'l' => Number(hour12, 2, ' ', pad),
            'm' => Number(t.Month, 2, '0', pad),
            'M' => Number(t.Minute, 2, '0', pad),
            'n' => "\n",
            'p' => t.Hour < 12 ? "AM" : "PM",
            'P' => t.Hour < 12 ? "am" : "pm",
            'r' => Format(t, "%I:%M:%S %p"),
            'R' => Format(t, "%H:%M"),
            'S' => Number(t.Second, 2, '0', pad),
            't' => "\t",
            'T' => Format(t, "%H:%M:%S"),
            'u' => Number(t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek, 1, '0', pad),
            'U' => Number((t.DayOfYear + 6 - (int)t.DayOfWeek) / 7, 2, '0', pad),
            'V' => Number(ISOWeek.GetWeekOfYear(t), 2, '0', pad),
            'w' => Number((int)t.DayOfWeek, 1, '0', pad),
            'W' => Number((t.DayOfYear + 6 - ((int)t.DayOfWeek + 6) % 7) / 7, 2, '0', pad),
            'x' => Format(t, "%m/%d/%y"),
            'X' => Format(t, "%H:%M:%S"),
            'y' => Number(t.Year % 100, 2, '0', pad),
            'Y' => t.Year.ToString(CultureInfo.InvariantCulture),
            'z' or 'Z' => "",
            '%' => "%",
            _ => throw new RenderError($"strftime_now: unsupported format code '%{code}' in '{format}'"),
        };
    }

    private static string Number(int value, int width, char defaultPad, char pad)
    {
        string digits = value.ToString(CultureInfo.InvariantCulture);
        return pad switch
        {
            '-' => digits,
            '_' => digits.PadLeft(width, ' '),
            '0' => digits.PadLeft(width, '0'),
            _ => digits.PadLeft(width, defaultPad),
        };
    }
}
