namespace FineR1.Core.Configuration;

/// <summary>
/// A model family's configuration in the role of transformers' <c>PretrainedConfig</c>: what a checkpoint writes as
/// <c>config.json</c>, so that <c>from_pretrained</c> (and <see cref="Checkpoints.CheckpointLoader"/>) loads the folder.
/// <see cref="Qwen2_5_VLConfig"/> implements it; the trainers write it through <see cref="Checkpoints.CheckpointWriter"/>
/// without knowing the family.
/// </summary>
public interface IPretrainedConfig
{
    /// <summary>The <c>config.json</c> text (HF <c>to_json_string()</c>), <c>model_type</c> and <c>architectures</c> included.</summary>
    string ToJson();
}
