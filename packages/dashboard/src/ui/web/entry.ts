// The bundle's entry: uPlot's stylesheet first, ours after it, then the app.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import './main.js';
