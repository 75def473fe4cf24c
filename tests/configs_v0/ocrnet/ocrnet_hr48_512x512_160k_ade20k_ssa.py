# The SSA classifier replaces the OCR head's (second stage of the cascade).
_base_ = ['ocrnet_hr48_512x512_160k_ade20k.py']
model = dict(decode_head=[dict(), dict(type='OCRHead_ssa')])
