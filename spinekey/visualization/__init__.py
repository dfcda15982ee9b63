from .draw import draw_instances, save_overlay

__all__ = ['draw_instances', 'save_overlay']
