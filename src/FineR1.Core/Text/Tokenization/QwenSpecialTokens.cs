namespace FineR1.Core.Text.Tokenization;

/// <summary>Names (contents) of the Qwen2.5-VL added tokens the chat template and the model use.</summary>
public static class QwenSpecialTokens
{
    /// <summary><c>&lt;|endoftext|&gt;</c> (151643): padding and second EOS.</summary>
    public const string EndOfText = "<|endoftext|>";
    /// <summary><c>&lt;|im_start|&gt;</c> (151644): opens a ChatML turn.</summary>
    public const string ImStart = "<|im_start|>";
    /// <summary><c>&lt;|im_end|&gt;</c> (151645): closes a ChatML turn; the EOS of generation.</summary>
    public const string ImEnd = "<|im_end|>";
    /// <summary><c>&lt;|vision_start|&gt;</c> (151652): opens an image or video.</summary>
    public const string VisionStart = "<|vision_start|>";
    /// <summary><c>&lt;|vision_end|&gt;</c> (151653): closes an image or video.</summary>
    public const string VisionEnd = "<|vision_end|>";
    /// <summary><c>&lt;|image_pad|&gt;</c> (151655): one per merged image patch.</summary>
    public const string ImagePad = "<|image_pad|>";
    /// <summary><c>&lt;|video_pad|&gt;</c> (151656): one per merged video patch.</summary>
    public const string VideoPad = "<|video_pad|>";
    /// <summary>The last added-token id of Qwen2.5-VL (<c>&lt;|file_sep|&gt;</c>); Qwen3 files have more.</summary>
    public const int LastQwen2_5_VLAddedTokenId = 151664;
}
